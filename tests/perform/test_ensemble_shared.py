"""Instruments sharing one real UDP port, told apart by address prefix: independent peers
(python-osc, liblo's oscsend, a raw socket), isolation, live control by name, a log each,
batching across the shared socket, a WebSocket each, and the config mistakes as one line."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import build_msg
from pythonosc.udp_client import SimpleUDPClient
from websockets.sync.client import connect

from foretell.config import config_from_dict
from foretell.data.log import read_log
from foretell.errors import ConfigError
from foretell.io.websocket import WebSocketSource
from foretell.model.random import random_model_file
from foretell.perform.batching import BatchingOscSource
from foretell.perform.build import build_engine
from foretell.perform.session import EngineHandle
from tests.osc_peers import free_udp_port, recv_osc, udp_peer, wait_until

NAMES = ("lead", "bass", "keys")
OSCSEND = shutil.which("oscsend")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return random_model_file(tmp_path / "shared.ftm")


@pytest.fixture
def peers() -> Iterator[dict[str, socket.socket]]:
    socks = {name: udp_peer() for name in NAMES}
    yield socks
    for sock in socks.values():
        sock.close()


def _config(
    model: Path,
    tmp_path: Path,
    peers: dict[str, socket.socket],
    port: int,
    more: dict[str, Any] | None = None,
) -> Any:
    """``NAMES`` on ``port`` at /NAME/interface, each answering its peer (and ``more``)."""
    instruments = {
        name: {
            "model": str(model),
            "mode": "filter",
            "listen_port": port,
            "input_address": f"/{name}/interface",
            "send_port": peers[name].getsockname()[1],
        }
        for name in NAMES
    }
    instruments.update(more or {})
    return config_from_dict(
        {
            "model": {"seed": 0},
            "osc": {"listen_host": "127.0.0.1"},
            "log": {"dir": str(tmp_path / "logs")},
            "instrument": instruments,
        }
    )


def _oscsend(port: int, address: str, types: str, *values: str) -> None:
    assert OSCSEND is not None
    subprocess.run(
        [OSCSEND, "127.0.0.1", str(port), address, types, *values], check=True, timeout=5
    )


def _snap(handle: EngineHandle) -> dict[str, Any]:
    return {i.name: i for i in handle.snapshot().instruments}


@pytest.mark.skipif(not OSCSEND, reason="liblo-tools (oscsend) is not installed")
def test_one_port_many_instruments_each_answers_its_own_peer(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    port = free_udp_port()
    with EngineHandle(_config(model, tmp_path, peers, port)).start() as handle:
        assert {handle.osc_address_of(n) for n in NAMES} == {("127.0.0.1", port)}
        SimpleUDPClient("127.0.0.1", port).send_message("/lead/interface", [0.1, 0.2, 0.3])
        reply = recv_osc(peers["lead"])
        assert reply is not None and reply[0] == "/lead/prediction" and len(reply[1]) == 3
        _oscsend(port, "/bass/interface", "fff", "0.9", "0.8", "0.7")  # liblo, not python-osc
        reply = recv_osc(peers["bass"])
        assert reply is not None and reply[0] == "/bass/prediction"
        assert recv_osc(peers["keys"], 0.2) is None and recv_osc(peers["lead"], 0.05) is None
        snap = _snap(handle)
        assert [snap[n].inputs for n in NAMES] == [1, 1, 0]
        assert not any(snap[n].rejected for n in NAMES)


@pytest.mark.skipif(not OSCSEND, reason="liblo-tools (oscsend) is not installed")
def test_bad_input_and_live_control_stay_with_their_instrument(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    port = free_udp_port()
    with EngineHandle(_config(model, tmp_path, peers, port)).start() as handle:
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/bass/interface", [0.1, 0.2])  # wrong count
        client.send_message("/foretell/bass/pitemp", "hot")  # a bad command
        _oscsend(port, "/foretell/bass/mode", "s", "listen")
        wait_until(lambda: _snap(handle)["bass"].settings.mode == "listen")
        snap = _snap(handle)
        assert snap["bass"].settings.mode == "listen" and sum(snap["bass"].rejected.values()) == 2
        assert snap["lead"].settings.mode == snap["keys"].settings.mode == "filter"
        assert not snap["lead"].rejected and not snap["keys"].rejected
        client.send_message("/keys/interface", [0.3, 0.3, 0.3])
        assert recv_osc(peers["keys"]) is not None  # keys still answers
        client.send_message("/bass/interface", [0.3, 0.3, 0.3])
        assert recv_osc(peers["bass"], 0.2) is None  # bass listens now
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"garbage", ("127.0.0.1", port))  # nobody's: the port's first instrument
        wait_until(lambda: bool(_snap(handle)["lead"].rejected))
        snap = _snap(handle)
        assert snap["lead"].rejected == {"malformed": 1} and not snap["keys"].rejected


def test_each_instrument_on_a_shared_port_keeps_its_own_log(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    port = free_udp_port()
    with EngineHandle(_config(model, tmp_path, peers, port)).start() as handle:
        client = SimpleUDPClient("127.0.0.1", port)
        for name, count in (("lead", 3), ("keys", 2)):
            for _ in range(count):
                client.send_message(f"/{name}/interface", [0.4, 0.5, 0.6])
                assert recv_osc(peers[name]) is not None
        assert handle.session is not None
    for name, count in (("lead", 3), ("bass", 0), ("keys", 2)):
        logs = list((tmp_path / "logs" / name).glob("*-mdrnn.log"))
        assert len(logs) == 1
        rows = read_log(logs[0]).rows
        assert sum(r.source == "user" for r in rows) == count
        assert sum(r.source == "model" for r in rows) == count


def test_inputs_for_several_instruments_in_one_datagram_are_one_batch(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    port = free_udp_port()
    drums = {"model": str(model), "listen_port": port, "mode": "listen"}  # /interface: 4 sharers
    config = _config(model, tmp_path, peers, port, more={"drums": drums})
    with EngineHandle(config).start() as handle:
        assert handle.session is not None
        assert all(isinstance(s, BatchingOscSource) for s in handle.session.sources.values())
        bundle = OscBundleBuilder(IMMEDIATELY)
        for name in ("lead", "bass", "keys", "drums"):
            address = "/interface" if name == "drums" else f"/{name}/interface"
            bundle.add_content(build_msg(address, [0.2, 0.4, 0.6]))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(bundle.build().dgram, ("127.0.0.1", port))
        for name in NAMES:
            reply = recv_osc(peers[name])
            assert reply is not None and reply[0] == f"/{name}/prediction"
        batcher = handle.session.batcher
        assert batcher is not None
        assert handle.call(batcher.stats)["largest"] == 4


def test_a_websocket_per_instrument(model: Path, tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "model": {"file": str(model), "seed": 0},
            "interaction": {"mode": "filter"},
            "osc": {"listen_host": "127.0.0.1", "listen_port": 0},
            "log": {"enabled": False},
            "instrument": {n: {"websocket": {"port": 0}} for n in ("lead", "bass")},
        }
    )
    with EngineHandle(config).start() as handle:
        transports = handle.transports
        assert transports is not None
        servers = {
            transports.labels[id(s)]: s.server
            for s in transports.sources
            if isinstance(s, WebSocketSource)
        }
        ports = {n: handle.call(lambda s=s: s.address)[1] for n, s in servers.items()}
        urls = {n: f"ws://127.0.0.1:{port}" for n, port in ports.items()}
        with connect(urls["lead"]) as lead, connect(urls["bass"]) as bass:
            lead.send(json.dumps({"interface": [0.2, 0.4, 0.6]}))
            got = [json.loads(lead.recv(2)) for _ in range(2)]
            assert {next(iter(m)) for m in got} == {"interface", "prediction"}
            with pytest.raises(TimeoutError):
                bass.recv(0.2)  # bass's page hears nothing of lead
            bass.send(json.dumps({"command": "mode", "args": ["listen"]}))
            wait_until(lambda: _snap(handle)["bass"].settings.mode == "listen")
        snap = _snap(handle)
        assert (snap["lead"].inputs, snap["bass"].inputs) == (1, 0)
        assert (snap["lead"].settings.mode, snap["bass"].settings.mode) == ("filter", "listen")


@pytest.mark.parametrize(
    ("instruments", "message"),
    [
        (
            {"a": {"listen_port": 7000}, "b": {"listen_port": 7000}},
            r"^instruments 'a' and 'b' both listen on port 7000 at /interface \(give each its own "
            r"input_address, e\.g\. /b/interface, or its own listen_port\)$",
        ),
        (
            {
                "a": {"listen_port": 7000, "input_address": "/a/interface"},
                "b": {"listen_port": 7000, "listen_host": "127.0.0.1"},
            },
            r"^instruments 'a' and 'b' share port 7000 but listen on 0\.0\.0\.0 and 127\.0\.0\.1",
        ),
    ],
)
def test_shared_port_mistakes_are_one_line(
    model: Path, instruments: dict[str, Any], message: str
) -> None:
    config = config_from_dict({"model": {"file": str(model)}, "instrument": instruments})
    with pytest.raises(ConfigError, match=message):
        build_engine(config)


def test_instrument_flags_share_a_port_by_address(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    from foretell.cli.run_commands import build_config

    port = free_udp_port()
    flags = tuple(
        f"{name}={model}:{port}/{name}/interface:127.0.0.1:{peers[name].getsockname()[1]}"
        for name in ("lead", "bass")
    )
    config = build_config(mode="filter", log_dir=tmp_path, seed=0, instruments=flags)
    with EngineHandle(config).start() as handle:
        assert {handle.osc_address_of(n)[1] for n in ("lead", "bass")} == {port}
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/bass/interface", [0.2, 0.4, 0.6])
        reply = recv_osc(peers["bass"])
        assert reply is not None and reply[0] == "/bass/prediction"
        assert recv_osc(peers["lead"], 0.2) is None
        assert _snap(handle)["lead"].inputs == 0 and _snap(handle)["bass"].inputs == 1
    for bad in (f"a={model}:{port}/:127.0.0.1:1", f"a={model}:x/a:127.0.0.1:1"):
        with pytest.raises(ConfigError, match=r"IN_PORT\[/ADDRESS\]"):
            build_config(log_dir=tmp_path, instruments=(bad,))
    spaced = build_config(log_dir=tmp_path, instruments=(f"a={model}:{port}/my pad:127.0.0.1:1",))
    with pytest.raises(ConfigError, match="osc.input_address = '/my pad'"):
        build_engine(spaced)
