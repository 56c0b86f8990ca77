"""The real engine over real UDP on loopback, with python sockets and liblo's oscsend/oscdump."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from foretell.config import RunConfig, override
from foretell.data.log import read_log
from foretell.errors import ConfigError
from foretell.io.osc_codec import decode_packet, encode_floats
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle, start_engine
from tests.osc_peers import free_udp_port
from tests.waiting import udp_port_bound, wait_until

LIBLO = shutil.which("oscsend") and shutil.which("oscdump")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_model_file(tmp_path_factory.mktemp("model") / "m.ftm", units=32)


@pytest.fixture
def client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    yield sock
    sock.close()


def _config(model: Path | None, port: int, log_dir: Path, **interaction: object) -> RunConfig:
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", **interaction)
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=port)
    return override(config, "log", dir=log_dir)


def _receive(sock: socket.socket, timeout: float = 2.0) -> tuple[str, list[object]]:
    sock.settimeout(timeout)
    return decode_packet(sock.recv(65536))[0]


def _dumped(dump: subprocess.Popen[str], count: int, timeout: float = 5.0) -> list[list[str]]:
    """The next ``count`` ``/prediction`` lines oscdump prints, split into fields (read from its
    pipe unbuffered, so nothing it prints after them is taken)."""
    assert dump.stdout is not None
    text = ""
    end = time.monotonic() + timeout
    while text.count("/prediction") < count and (left := end - time.monotonic()) > 0:
        if select.select([dump.stdout], [], [], left)[0]:
            chunk = os.read(dump.stdout.fileno(), 65536)
            assert chunk, "oscdump stopped"
            text += chunk.decode()
    lines = [line.split() for line in text.splitlines() if "/prediction" in line]
    assert len(lines) == count, f"oscdump printed {len(lines)} of {count} predictions"
    return lines


def test_filter_round_trip_and_log(model: Path, client: socket.socket, tmp_path: Path) -> None:
    config = _config(model, client.getsockname()[1], tmp_path, mode="filter")
    with start_engine(config) as engine:
        for i in range(20):
            client.sendto(encode_floats("/interface", [i / 20, 0.5, 0.5]), engine.osc_address)
            address, values = _receive(client)
            assert address == "/prediction" and len(values) == 3
            assert all(0.0 <= float(v) <= 1.0 for v in values)  # type: ignore[arg-type]
        snap = engine.snapshot().instruments[0]
    assert snap.inputs == 20 and snap.answers == 20
    assert snap.log_path is not None
    rows = read_log(snap.log_path).rows
    assert [r.source for r in rows] == ["user", "model"] * 20
    assert rows[2].values[0] == pytest.approx(0.05)


@pytest.mark.skipif(not LIBLO, reason="liblo-tools (oscsend/oscdump) is not installed")
def test_liblo_peers_round_trip(model: Path, tmp_path: Path) -> None:
    """oscsend plays the instrument, oscdump is the synth: neither is python-osc."""
    port = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: udp_port_bound(port), what=f"oscdump to bind UDP port {port}")
        config = _config(model, port, tmp_path, mode="filter")
        with start_engine(config) as engine:
            host, engine_port = engine.osc_address
            lines = []
            for values in (["0.1", "0.2", "0.3"], ["0.9", "0.8", "0.7"]):
                subprocess.run(
                    ["oscsend", host, str(engine_port), "/interface", "fff", *values],
                    check=True,
                    timeout=5,
                )
                lines += _dumped(dump, 1)  # answered (inputs of one wake-up get one answer)
            subprocess.run(
                ["oscsend", host, str(engine_port), "/foretell/mode", "s", "listen"],
                check=True,
                timeout=5,
            )
            subprocess.run(
                ["oscsend", host, str(engine_port), "/impsy/pitemp", "f", "0.5"],
                check=True,
                timeout=5,
            )
            subprocess.run(
                ["oscsend", host, str(engine_port), "/interface", "fff", "0.5", "0.5", "0.5"],
                check=True,
                timeout=5,
            )
            snap = wait_until(
                lambda: (s := engine.snapshot().instruments[0]).inputs == 3 and s,
                what="the third input",
            )
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=5)
    assert "/prediction" not in out and snap.answers == 2  # listen mode sent nothing
    assert all(fields[1:3] == ["/prediction", "fff"] for fields in lines)
    assert all(0.0 <= float(v) <= 1.0 for fields in lines for v in fields[3:])
    assert snap.settings.mode == "listen" and snap.settings.pi_temp == 0.5 and snap.inputs == 3


def test_bad_input_never_stalls_and_is_counted(
    model: Path, client: socket.socket, tmp_path: Path
) -> None:
    config = _config(model, client.getsockname()[1], tmp_path, mode="filter", out_of_range="reject")
    with start_engine(config) as engine:
        target = engine.osc_address
        client.sendto(encode_floats("/interface", [0.1, 0.1, 0.1]), target)
        _receive(client)
        bad = [
            b"\x00\x01garbage",
            b"",
            encode_floats("/interface", [0.5, 0.5]),
            encode_floats("/interface", [0.5] * 9),
            encode_floats("/interface", [float("nan"), 0.5, 0.5]),
            encode_floats("/interface", [float("inf"), 0.5, 0.5]),
            encode_floats("/interface", [2.0, 0.5, 0.5]),
            b"/interface\0\0,sff\0\0\0\0hi\0\0" + encode_floats("/x", [0.5, 0.5])[-8:],
            encode_floats("/foretell/mode", []),
            encode_floats("/elsewhere", [0.5]),
        ] * 3
        for packet in bad:
            client.sendto(packet, target)
        client.sendto(encode_floats("/interface", [0.9, 0.9, 0.9]), target)
        assert _receive(client)[0] == "/prediction"  # still answering
        snap = engine.snapshot().instruments[0]
    assert snap.inputs == 2 and snap.answers == 2
    assert snap.rejected == {
        "malformed": 6,
        "wrong_count": 6,
        "not_finite": 6,
        "out_of_range": 3,
        "wrong_type": 3,
        "bad_command": 3,
        "unknown_address": 3,
    }
    assert snap.log_path is not None
    contents = read_log(snap.log_path)
    assert len(contents.rows) == 4 and not contents.broken  # nothing recorded was lost
    sidecar = Path(snap.log_path.removesuffix(".log") + ".foretell.jsonl").read_text()
    assert sidecar.count('"kind": "reject"') == 7  # reported once per kind


def test_callresponse_real_time(model: Path, client: socket.socket, tmp_path: Path) -> None:
    """The model takes its turn after the threshold's silence, plays on by itself, stops when the
    performer is back (its next event cancelled) and waits for silence again. When each event
    came is read from the log, stamped on the engine's clock: a loaded machine delays this test's
    reading, never what the engine decided."""
    config = _config(model, client.getsockname()[1], tmp_path, mode="callresponse", threshold=0.3)
    with start_engine(config) as engine:
        target = engine.osc_address
        for _ in range(5):
            client.sendto(encode_floats("/interface", [0.5, 0.5, 0.5]), target)
        for _ in range(3):
            _receive(client, timeout=5)  # silence: the model takes its turn and plays on
        assert wait_until(lambda: engine.snapshot().instruments[0].responding)
        client.sendto(encode_floats("/interface", [0.5, 0.5, 0.5]), target)
        back = wait_until(
            lambda: (s := engine.snapshot().instruments[0]).inputs == 6 and s,
            what="the performer's return",
        )
        wait_until(  # silence again: the model's next turn
            lambda: engine.snapshot().instruments[0].generated > back.generated,
            what="the model's next turn",
        )
        snap = engine.snapshot().instruments[0]
    assert back.cancelled >= 1  # the user is back: its next event was cancelled
    assert snap.generated >= 4 and snap.timing_ms["p50_ms"] is not None
    # how late events play is measured by ``foretell bench live``, not here
    assert snap.log_path is not None
    rows = read_log(snap.log_path).rows
    users = [k for k, r in enumerate(rows) if r.source == "user"]
    assert len(users) == 6 and users[:5] == list(range(5))
    first_turn, return_ = rows[5], rows[users[5]]
    assert users[5] >= 8 and {r.source for r in rows[5 : users[5]]} == {"model"}
    assert first_turn.time - rows[4].time >= 0.3 - 1e-5  # never before the threshold
    again = rows[users[5] + 1]
    assert again.source == "model" and again.time - return_.time >= 0.3 - 1e-5


def test_live_control_and_hot_load(model: Path, client: socket.socket, tmp_path: Path) -> None:
    other = random_model_file(model.parent / "other.ftm", units=32, seed=3)
    config = _config(model, client.getsockname()[1], tmp_path, mode="listen")
    with start_engine(config) as engine:
        target = engine.osc_address
        for address, args in (
            ("/foretell/timescale", [2.0]),
            ("/foretell/threshold", [0.3]),
            ("/impsy/sigmatemp", [0.01]),
            ("/foretell/thru", [1.0]),
        ):
            client.sendto(encode_floats(address, args), target)
        load = OscMessageBuilder("/foretell/load")
        load.add_arg(other.name)  # by name, in the models folder (the model's)
        client.sendto(load.build().dgram, target)
        client.sendto(encode_floats("/foretell/mode", []), target)  # bad: no name
        wait_until(
            lambda: engine.snapshot().instruments[0].model == str(other),
            what="the model to be hot-loaded",
        )
        client.sendto(encode_floats("/interface", [0.5, 0.5, 0.5]), target)
        assert _receive(client)[1] == [0.5, 0.5, 0.5]  # thru
        snap = engine.snapshot().instruments[0]
    s = snap.settings
    assert (s.timescale, s.threshold, s.sigma_temp) == pytest.approx((2.0, 0.3, 0.01))
    assert s.input_thru
    assert snap.rejected == {"bad_command": 1}


def test_without_a_model_it_logs_only(client: socket.socket, tmp_path: Path) -> None:
    config = _config(None, client.getsockname()[1], tmp_path, mode="useronly")
    config = override(config, "interaction", dimension=3)
    with start_engine(config) as engine:
        client.sendto(encode_floats("/interface", [0.5]), engine.osc_address)  # a stranger's
        for i in range(5):
            client.sendto(encode_floats("/interface", [i / 5, 0.5]), engine.osc_address)
        snap = wait_until(
            lambda: (s := engine.snapshot().instruments[0]).inputs == 5 and s, what="5 inputs"
        )
    assert snap.inputs == 5 and snap.dimension == 3 and snap.log_path is not None
    assert snap.rejected == {"wrong_count": 1}
    assert len(read_log(snap.log_path).rows) == 5


def test_logging_without_a_model_needs_a_dimension(client: socket.socket, tmp_path: Path) -> None:
    """The first sender no longer fixes the log's dimension (a stranger's one-value packet made
    every later input of the musician "wrong count")."""
    config = _config(None, client.getsockname()[1], tmp_path, mode="useronly")
    with pytest.raises(ConfigError, match="logging without a model needs"):
        EngineHandle(config).start()


def test_a_taken_port_is_one_clear_error(model: Path, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        config = _config(model, 9, tmp_path)
        config = override(config, "osc", listen_port=taken.getsockname()[1])
        with pytest.raises(Exception, match="cannot listen for OSC on 127.0.0.1"):
            EngineHandle(config).start()
