"""``[osc] moved = true``: each model event is one bundle, ``/prediction f f ...`` then
``/prediction/moved i ...``, received by real peers (a Python socket, liblo's oscdump, Pure Data
headless with ``examples/pd/foretell-moved.pd``) from a real engine playing a moves model."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from foretell.config import RunConfig, config_from_dict, override
from foretell.errors import ConfigError
from foretell.io.osc_codec import decode_packet, encode_floats
from foretell.perform.session import start_engine
from tests.moves_files import moves_model_file
from tests.osc_peers import free_udp_port, udp_peer
from tests.waiting import udp_port_bound, wait_until

PD = shutil.which("pd")
LIBLO = shutil.which("oscsend") and shutil.which("oscdump")
PATCH = Path(__file__).parents[2] / "examples" / "pd" / "foretell-moved.pd"
INPUTS = [(i % 8 / 8, (i * 3 + 1) % 8 / 8, 0.5) for i in range(12)]  # on the model's grid


def _config(model: Path, port: int, moved: bool) -> RunConfig:
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    config = override(config, "log", enabled=False)
    return override(
        config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=port, moved=moved
    )


def _expected_moved(before: tuple[float, ...], answer: list[float]) -> list[int]:
    """What the model moved in a filter answer: the grid controls it took off the performer's
    value, and the continuous control, which always moves."""
    grid = [c for c in (0, 1) if np.float32(answer[c]) != np.float32(before[c])]
    return [*grid, 2]


def test_each_answer_is_a_bundle_of_the_vector_and_what_moved(tmp_path: Path) -> None:
    model = moves_model_file(tmp_path / "m.ftm")
    with udp_peer() as peer, udp_peer() as performer:
        with start_engine(_config(model, peer.getsockname()[1], moved=True)) as engine:
            sizes = set()
            for values in INPUTS:
                performer.sendto(encode_floats("/interface", values), engine.osc_address)
                (address, answer), (moved_address, moved) = decode_packet(peer.recv(65536))
                assert (address, moved_address) == ("/prediction", "/prediction/moved")
                assert len(answer) == 3 and moved == _expected_moved(values, answer)  # type: ignore[arg-type]
                sizes.add(len(moved))
        assert sizes > {1}  # answers that moved the continuous control only, and more
        with start_engine(_config(model, peer.getsockname()[1], moved=False)) as engine:
            performer.sendto(encode_floats("/interface", INPUTS[0]), engine.osc_address)
            data = peer.recv(65536)
    assert not data.startswith(b"#bundle") and decode_packet(data)[0][0] == "/prediction"


@pytest.mark.skipif(not LIBLO, reason="liblo-tools (oscsend/oscdump) is not installed")
def test_oscdump_reads_the_moved_controls(tmp_path: Path) -> None:
    model = moves_model_file(tmp_path / "m.ftm")
    port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: udp_port_bound(port), what=f"oscdump to bind UDP port {port}")
        with start_engine(_config(model, port, moved=True)) as engine:
            host, engine_port = engine.osc_address
            pairs = []
            for values in INPUTS[:4]:
                args = [f"{v}" for v in values]
                command = ["oscsend", host, str(engine_port), "/interface", "fff", *args]
                subprocess.run(command, check=True, timeout=5)
                pairs.append((values, _dumped_pair(dump)))
    finally:
        dump.terminate()
        dump.communicate(timeout=5)
    for values, (prediction, moved) in pairs:
        assert prediction[1:3] == ["/prediction", "fff"] and moved[1] == "/prediction/moved"
        assert prediction[0] == moved[0]  # one bundle: one time tag
        answer = [float(v) for v in prediction[3:]]
        assert moved[2] == "i" * len(moved[3:])
        assert [int(i) for i in moved[3:]] == _expected_moved(values, answer)


def _dumped_pair(dump: subprocess.Popen[str], timeout: float = 5.0) -> list[list[str]]:
    """The next two lines oscdump prints (a bundle's two messages), split into fields."""
    assert dump.stdout is not None
    text = ""
    end = time.monotonic() + timeout
    while text.count("\n") < 2 and (left := end - time.monotonic()) > 0:
        if select.select([dump.stdout], [], [], left)[0]:
            chunk = os.read(dump.stdout.fileno(), 65536)
            assert chunk, "oscdump stopped"
            text += chunk.decode()
    lines = [line.split() for line in text.splitlines()]
    assert len(lines) == 2, f"oscdump printed {text!r}"
    return lines


@pytest.mark.skipif(PD is None, reason="Pure Data not installed (Debian: puredata-core)")
def test_the_pd_patch_routes_values_and_moved_controls(tmp_path: Path) -> None:
    assert PD is not None
    model = moves_model_file(tmp_path / "m.ftm")
    port = free_udp_port()
    printed = tmp_path / "pd.err"
    command = [PD, "-nogui", "-nosound", "-nomidi", "-stderr"]
    command += ["-send", f"foretell-moved-listen {port}", str(PATCH)]
    with printed.open("w") as sink:
        pd = subprocess.Popen(command, stderr=sink)
    try:
        wait_until(lambda: udp_port_bound(port), 20, f"Pd to bind UDP port {port}")
        with start_engine(_config(model, port, moved=True)) as engine, udp_peer() as performer:
            for values in INPUTS[:6]:
                performer.sendto(encode_floats("/interface", values), engine.osc_address)
                answered = INPUTS.index(values) + 1
                wait_until(
                    lambda n=answered: printed.read_text().count("foretell-moved:") == n,
                    10,
                    "Pd to print the answer",
                )
    finally:
        pd.terminate()
        pd.wait(10)
    lines = printed.read_text().splitlines()
    values_lines = [line.split()[1:] for line in lines if line.startswith("foretell-values:")]
    moved_lines = [line.split()[1:] for line in lines if line.startswith("foretell-moved:")]
    assert len(values_lines) == len(moved_lines) == 6
    for before, shown, moved in zip(INPUTS, values_lines, moved_lines, strict=False):
        answer = [float(v) for v in shown]
        assert [int(i) for i in moved] == _expected_moved(before, answer)


def test_the_config_key_is_off_unless_asked_and_checked() -> None:
    assert RunConfig().osc.moved is False
    assert config_from_dict({"osc": {"moved": True}}).osc.moved is True
    with pytest.raises(ConfigError, match=r"osc\.moved"):
        config_from_dict({"osc": {"moved": "yes"}})
