"""An IMPSY setup runs unchanged: its config and imported model answer over OSC, live."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from foretell.impsy.config import import_model, impsy_to_run_config, read_run_config
from foretell.impsy.keras_import import import_impsy_model
from foretell.io.osc_codec import decode_packet, encode_floats
from foretell.model.fileformat import load_model, save_model
from foretell.perform.session import start_engine
from tests.impsy.conftest import DIM4


def receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    return sock


def test_imported_model_answers_over_osc_with_an_impsy_config(
    shipped: Callable[[str], Path],
) -> None:
    keras = shipped(f"{DIM4}.keras")
    out = receiver()
    impsy_toml = {
        "log_input": False,
        "log_predictions": False,
        "interaction": {"mode": "callresponse", "threshold": 0.05, "input_thru": False},
        "model": {
            "dimension": 4,
            "file": keras.name,
            "size": "s",
            "pitemp": 1.0,
            "sigmatemp": 0.01,
        },
        "osc": {
            "server_ip": "127.0.0.1",
            "server_port": 0,
            "client_ip": "127.0.0.1",
            "client_port": out.getsockname()[1],
        },
    }
    mapped = impsy_to_run_config(impsy_toml, base=keras.parent)
    assert mapped.import_source == keras and mapped.config.model.file is not None
    save_model(mapped.config.model.file, import_impsy_model(mapped.import_source).model)

    with (
        start_engine(mapped.config) as engine,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as send,
    ):
        for i in range(5):  # the performer plays IMPSY's /interface address ...
            send.sendto(encode_floats("/interface", [0.2 * i, 0.5, 0.3]), engine.osc_address)
            time.sleep(0.01)
        answers: list[list[object]] = []
        # The imported model samples its own dt: now and then one is seconds long (seen in CI:
        # two answers in 5 s), so the wait is long and ends as soon as three have come.
        deadline = time.monotonic() + 30.0
        while len(answers) < 3 and time.monotonic() < deadline:  # ... then is silent
            try:
                data = out.recv(4096)
            except TimeoutError:
                continue
            answers += [args for address, args in decode_packet(data) if address == "/impsy"]
    out.close()
    assert len(answers) >= 3, "the imported model did not answer on IMPSY's /impsy"
    for args in answers:
        assert len(args) == 3 and all(0.0 <= float(v) <= 1.0 for v in args)  # type: ignore[arg-type]


def test_foretell_run_config_reads_an_impsy_config_file_and_imports_its_model(
    shipped: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    keras = shipped(f"{DIM4}.keras")
    config_file = keras.parent / "config.toml"
    config_file.write_text(
        'title = "LightPad"\nverbose = true\n\n[model]\ndimension = 4\n'
        f'file = "{keras.name}"\nsize = "s"\n\n[osc]\nserver_ip = "127.0.0.1"\n'
        'server_port = 6100\nclient_ip = "127.0.0.1"\nclient_port = 6101\n\n'
        "[webui]\nmonitor_port = 4001\n"
    )
    before = sorted(keras.parent.iterdir())
    with caplog.at_level(logging.WARNING):
        read = read_run_config(config_file)
    assert sorted(keras.parent.iterdir()) == before  # reading a config writes nothing
    assert read.import_source == keras
    config = import_model(read)  # the explicit step `foretell run --config` takes
    assert config.model.file == keras.with_suffix(".ftm")
    assert load_model(keras.with_suffix(".ftm")).spec.units == 64
    assert (config.osc.listen_port, config.osc.send_port) == (6100, 6101)
    assert config.osc.output_address == "/impsy"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "verbose" in warnings[0] and "webui.monitor_port" in warnings[0]
    again = read_run_config(config_file)  # the second time the .ftm is simply used
    assert again.import_source is None and again.config == config
