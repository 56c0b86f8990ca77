"""An IMPSY setup runs unchanged: its config and imported model answer over OSC, live."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("foretell.perform.session", reason="the performance engine is not built yet")
from foretell.impsy.config import impsy_to_run_config
from foretell.impsy.keras_import import import_impsy_model
from foretell.io.osc import decode_packet, encode_floats
from foretell.model.fileformat import save_model
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
        deadline = time.monotonic() + 5.0
        while len(answers) < 3 and time.monotonic() < deadline:  # ... then is silent
            try:
                data = out.recv(4096)
            except TimeoutError:
                continue
            answers += [args for address, args in decode_packet(data) if address == "/prediction"]
    out.close()
    assert len(answers) >= 3, "the imported model did not answer on /prediction"
    for args in answers:
        assert len(args) == 3 and all(0.0 <= float(v) <= 1.0 for v in args)  # type: ignore[arg-type]
