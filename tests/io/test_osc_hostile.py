"""What a hostile or unlucky peer sends: each of these hung, flooded or silenced the engine before.

Over real UDP against a live engine where the defect showed there (the hang, the warning flood),
purely through the router where the defect was in one wake-up's batch.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from foretell import commands as control
from foretell.bench import fuzz
from foretell.bench.mutations import bundle, datagrams, message
from foretell.config import RunConfig, override
from foretell.config.control_sources import ControlSources
from foretell.data.log import read_log
from foretell.errors import OscError
from foretell.io.osc import OscRouter, OscRoutes, deliver
from foretell.io.osc_codec import OscDecodeError, decode_packet, encode_floats
from foretell.io.rate_limit import RateLimiter
from foretell.model.random import random_model_file
from foretell.perform.build import build_engine
from foretell.perform.session import EngineHandle, start_engine
from tests.io.test_osc_codec import RecordingInbox
from tests.osc_peers import recv_osc, udp_peer

HANG = b"#bundle\0" + bytes(8) + struct.pack(">I", 0xFFFFFFFC)  # python-osc loops forever on it
PROBE = [0.123, 0.456, 0.789]  # no single mutation of a seed makes it


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_model_file(tmp_path_factory.mktemp("model") / "m.ftm", units=16)


@pytest.fixture
def live(model: Path, tmp_path: Path) -> Iterator[tuple[EngineHandle, socket.socket]]:
    """An engine in filter mode on loopback, and the peer its answers go to."""
    peer = udp_peer()
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    config = override(
        config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=peer.getsockname()[1]
    )
    with start_engine(override(config, "log", dir=tmp_path / "logs")) as engine:
        yield engine, peer
    peer.close()


def _answered(engine: EngineHandle, peer: socket.socket, prober: socket.socket) -> bool:
    """Send the probe input (from ``prober``) and say whether its answer came back."""
    prober.sendto(encode_floats("/interface", PROBE), engine.osc_address)
    while (received := recv_osc(peer, timeout=2.0)) is not None:
        if received[0] == "/prediction":
            return True
    return False


def test_a_negative_bundle_size_neither_hangs_nor_floods(
    live: tuple[EngineHandle, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    engine, peer = live
    with pytest.raises(OscDecodeError, match="positive multiples of 4"):
        decode_packet(HANG)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(HANG, engine.osc_address)
        assert _answered(engine, peer, stranger)
    assert engine.snapshot().instruments[0].rejected == {"malformed": 1}
    assert len(caplog.records) <= 2


def test_a_datagram_of_unknown_type_tags_is_one_rejection(
    live: tuple[EngineHandle, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    engine, peer = live
    tags = "".join(chr(c) for c in np.random.default_rng(0).integers(0x41, 0x5B, 64_980))
    huge = message("/interface", tags)
    assert len(huge) > 64_000
    caplog.set_level(logging.DEBUG)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(huge, engine.osc_address)
        assert _answered(engine, peer, stranger)
    assert engine.snapshot().instruments[0].rejected == {"malformed": 1}
    assert sum(len(r.getMessage()) for r in caplog.records) < 2000  # not one line per tag


def test_a_failing_message_costs_only_itself() -> None:
    """A RecursionError from deep nesting, or expanduser's RuntimeError on ``~nosuchuser``,
    dropped the whole wake-up's batch of valid inputs, unlogged and uncounted."""
    deep = encode_floats("/interface", [0.5])
    for _ in range(2000):
        deep = bundle(deep)
    load = message("/foretell/load", "s", b"~nosuchuser/x\0\0\0")
    inbox = RecordingInbox()
    router = OscRouter()
    router.add(OscRoutes(), inbox)
    deliver(
        router, [encode_floats("/interface", [0.1]), deep, load, encode_floats("/interface", [0.2])]
    )
    kinds = [call[1] for call in inbox.calls if call[0] == "reject"]
    inputs = [call[1] for call in inbox.calls if call[0] == "input"]
    assert kinds == ["malformed", "bad_command"]
    assert inputs == [[pytest.approx(0.1)], [pytest.approx(0.2)]]


def test_an_inbox_that_raises_costs_that_message_only() -> None:
    class Failing(RecordingInbox):
        def on_input(self, values: object, *, answer: bool = True, guest: bool = False) -> None:
            if values == [pytest.approx(0.1)]:
                raise RuntimeError("boom")
            super().on_input(values, answer=answer)

    inbox = Failing()
    router = OscRouter()
    router.add(OscRoutes(), inbox)
    batch = [encode_floats("/interface", [v]) for v in (0.1, 0.2)]
    deliver(router, [*batch, encode_floats("/foretell/pitemp", [0.5])])
    assert ("reject", "internal_error", None) in inbox.calls
    assert ("command", control.SetSetting("pitemp", 0.5), None) in inbox.calls
    assert ("input", [pytest.approx(0.2)], True) in inbox.calls


def test_control_verbs_come_from_allowed_hosts_only() -> None:
    inbox = RecordingInbox()
    router = OscRouter()
    router.add(OscRoutes(), inbox)
    pause = encode_floats("/foretell/pause", [1.0])
    impsy = encode_floats("/impsy/pitemp", [0.5])
    deliver(router, [(pause, "192.168.1.50"), (impsy, "10.0.0.9"), (pause, "127.0.0.1")])
    deliver(router, [(encode_floats("/interface", [0.3]), "192.168.1.50")])  # input: open
    assert [c[1] for c in inbox.calls] == [
        "control_refused",
        "control_refused",
        control.SetPause(True),
        [pytest.approx(0.3)],
    ]
    phone = OscRouter()
    phone.add(OscRoutes(control_from=ControlSources.parse(["192.168.1.50"])), inbox)
    assert phone.route("/foretell/pause", [1.0], "192.168.1.50")[1] == control.SetPause(True)


def test_commands_are_rate_limited_per_source() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=50, burst=100, clock=lambda: now[0])
    inbox = RecordingInbox()
    router = OscRouter()
    router.add(OscRoutes(), inbox)
    flood = [(encode_floats("/foretell/pitemp", [0.5]), "127.0.0.1")] * 500
    deliver(router, [*flood, (encode_floats("/foretell/pitemp", [0.7]), "127.0.0.2")], limiter)
    kinds = [c[1] for c in inbox.calls if c[0] == "reject"]
    commands = [c[1] for c in inbox.calls if c[0] == "command"]
    assert len(commands) == 101 and kinds == ["rate_limited"] * 400
    # another source: not held back
    last = commands[-1]
    assert isinstance(last, control.SetSetting) and last.name == "pitemp"
    assert last.value == pytest.approx(0.7)
    now[0] = 1.0
    deliver(router, flood[:60], limiter)
    assert sum(c[0] == "command" for c in inbox.calls) == 101 + 50


def test_own_output_at_own_input_is_refused(tmp_path: Path) -> None:
    config = override(RunConfig(), "interaction", dimension=4)
    config = override(config, "log", dir=tmp_path)
    for listen in ("127.0.0.1", "0.0.0.0"):
        looped = override(config, "osc", listen_host=listen, listen_port=7123, send_port=7123)
        with pytest.raises(OscError, match="is foretell's own input"):
            build_engine(looped)
    elsewhere = override(config, "osc", listen_port=7123, send_port=7124)
    assert build_engine(elsewhere).osc_out.port == 7124


def test_a_fuzzed_stream_costs_no_valid_input(
    model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """3,000 mutated datagrams (seeded) from a stranger, a valid input from the musician (on
    another loopback address) after every 300, its echo and its answer awaited as
    ``foretell bench fuzz`` does: each valid input is answered and logged; stderr stays short."""
    rng = np.random.default_rng(14)
    answered = sends = 0
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as musician,
    ):
        musician.bind(("127.0.0.2", 0))
        config = override(RunConfig(), "model", file=model, seed=0)
        config = override(config, "interaction", mode="filter")
        config = override(
            config,
            "osc",
            listen_host="127.0.0.1",
            listen_port=0,
            send_host="127.0.0.2",
            send_port=musician.getsockname()[1],
        )
        with start_engine(override(config, "log", dir=tmp_path / "logs")) as engine:
            for _ in range(10):
                for data in datagrams(rng, 300):
                    stranger.sendto(data, engine.osc_address)
                ok, attempts = fuzz.probe(musician, engine.osc_address)
                answered += ok
                sends += attempts
            path = engine.snapshot().instruments[0].log_path
    rows = read_log(str(path)).rows
    logged = sum(r.source == "user" and r.values == pytest.approx(fuzz.PROBE) for r in rows)
    assert answered == 10 and 10 <= logged <= sends
    assert len(caplog.records) < 40


def test_every_mutation_decodes_or_is_one_decode_error() -> None:
    rng = np.random.default_rng(1)
    decoded = 0
    for data in datagrams(rng, 5000):
        try:
            messages = decode_packet(data)
        except OscDecodeError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 300
            continue
        decoded += 1
        assert all(isinstance(a, str) and isinstance(args, list) for a, args in messages)
    assert 0 < decoded < 5000
