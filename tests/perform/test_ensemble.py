"""An ensemble in one real engine over loopback: independent OSC peers, isolation, shared weights,
cross-listening with its loop guard, and a log per instrument."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foretell.config import config_from_dict
from foretell.data.log import read_log
from foretell.errors import ConfigError
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.perform.build import build_engine
from foretell.perform.session import EngineHandle
from tests.osc_peers import recv_osc, udp_peer, wait_until


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return random_model_file(tmp_path / "shared.ftm")


@pytest.fixture
def peers() -> Iterator[dict[str, socket.socket]]:
    socks = {name: udp_peer() for name in "abc"}
    yield socks
    for sock in socks.values():
        sock.close()


def _config(model: Path, tmp_path: Path, peers: dict[str, socket.socket], **extra: Any) -> Any:
    instruments = {
        name: {
            "model": str(model),
            "mode": "filter",
            "listen_port": 0,
            "send_port": peers[name].getsockname()[1],
            **extra.get(name, {}),
        }
        for name in "abc"
    }
    return config_from_dict(
        {
            "model": {"seed": 0},
            "osc": {"listen_host": "127.0.0.1"},
            "log": {"dir": str(tmp_path / "logs")},
            "instrument": instruments,
        }
    )


def _send(handle: EngineHandle, name: str, address: str, *values: object) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if all(isinstance(v, float) for v in values):
            data = encode_floats(address, [float(v) for v in values])  # type: ignore[arg-type]
        else:
            from pythonosc.osc_message_builder import build_msg

            data = build_msg(address, list(values)).dgram
        sock.sendto(data, handle.osc_address_of(name))


def test_each_instrument_answers_only_its_own_peer(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    with EngineHandle(_config(model, tmp_path, peers)).start() as handle:
        _send(handle, "a", "/interface", 0.1, 0.2, 0.3)
        reply = recv_osc(peers["a"])
        assert reply is not None and reply[0] == "/a/prediction" and len(reply[1]) == 3
        assert recv_osc(peers["b"], 0.2) is None and recv_osc(peers["c"], 0.05) is None
        _send(handle, "b", "/interface", 0.5, 0.5, 0.5)
        reply = recv_osc(peers["b"])
        assert reply is not None and reply[0] == "/b/prediction"
        snap = {i.name: i for i in handle.snapshot().instruments}
        assert (snap["a"].inputs, snap["b"].inputs, snap["c"].inputs) == (1, 1, 0)


def test_shared_weights_separate_state(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    with EngineHandle(_config(model, tmp_path, peers)).start() as handle:
        assert handle.session is not None
        insts = handle.session.engine.instruments
        a, b = insts["a"].runtime, insts["b"].runtime
        assert a is not None and b is not None and a is not b
        assert a.model is b.model  # one copy of the weights
        _send(handle, "a", "/interface", 0.9, 0.1, 0.5)
        assert recv_osc(peers["a"]) is not None
        hidden = handle.call(lambda: (a.get_state().hidden.copy(), b.get_state().hidden.copy()))
        assert abs(hidden[0]).sum() > 0 and abs(hidden[1]).sum() == 0


def test_bad_input_and_mode_change_stay_with_their_instrument(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    with EngineHandle(_config(model, tmp_path, peers)).start() as handle:
        _send(handle, "a", "/interface", 0.1, 0.2)  # wrong count
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"garbage", handle.osc_address_of("a"))
        _send(handle, "a", "/foretell/a/mode", "listen")
        _send(handle, "a", "/foretell/b/mode", "battle")  # b's control, on a's port: not a's
        wait_until(lambda: handle.snapshot().instruments[0].settings.mode == "listen")
        snap = {i.name: i for i in handle.snapshot().instruments}
        assert snap["a"].settings.mode == "listen"
        assert snap["b"].settings.mode == "filter" and snap["c"].settings.mode == "filter"
        assert sum(snap["a"].rejected.values()) >= 3
        assert not snap["b"].rejected and not snap["c"].rejected
        _send(handle, "b", "/interface", 0.3, 0.3, 0.3)
        assert recv_osc(peers["b"]) is not None  # b still answers
        _send(handle, "a", "/interface", 0.3, 0.3, 0.3)
        assert recv_osc(peers["a"], 0.2) is None  # a listens now


def test_cross_listening_follows_and_the_loop_guard_stops_a_runaway(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    extra = {"a": {"listen_to": ["b"]}, "b": {"listen_to": ["a"]}, "c": {"listen_to": ["a:user"]}}
    with EngineHandle(_config(model, tmp_path, peers, **extra)).start() as handle:
        _send(handle, "a", "/interface", 0.1, 0.2, 0.3)
        assert recv_osc(peers["c"]) is not None  # c follows a's performer
        # a and b (filter) answer each other until the guard stops them (hop by hop on a fake
        # clock in test_listening.py); here over real sockets, the same counts in the end:
        wait_until(lambda: handle.snapshot().instruments[1].rejected)
        snap = {i.name: i for i in handle.snapshot().instruments}
        assert (snap["a"].inputs, snap["b"].inputs, snap["c"].inputs) == (3, 2, 2)
        assert snap["b"].rejected == {"loop_guard": 1}
        assert snap["c"].rejected == {"loop_guard": 1}
        assert handle.session is not None and handle.session.listening is not None
        assert handle.session.listening.delivered() == {"a->c": 2, "a->b": 2, "b->a": 2}
        time.sleep(0.2)
        assert handle.snapshot().instruments[0].inputs == 3  # and it stays stopped


def test_each_instrument_keeps_its_own_log(
    model: Path, tmp_path: Path, peers: dict[str, socket.socket]
) -> None:
    with EngineHandle(_config(model, tmp_path, peers)).start() as handle:
        for name, count in (("a", 3), ("b", 2)):
            for _ in range(count):
                _send(handle, name, "/interface", 0.4, 0.5, 0.6)
                assert recv_osc(peers[name]) is not None
    for name, count in (("a", 3), ("b", 2), ("c", 0)):
        logs = list((tmp_path / "logs" / name).glob("*-mdrnn.log"))
        assert len(logs) == 1
        rows = read_log(logs[0]).rows
        assert sum(r.source == "user" for r in rows) == count
        assert sum(r.source == "model" for r in rows) == count


def test_config_errors_name_the_problem(model: Path, tmp_path: Path) -> None:
    base = {"model": {"file": str(model)}}
    with pytest.raises(ConfigError, match="both listen on port 7000"):
        build_engine(
            config_from_dict(
                {**base, "instrument": {"a": {"listen_port": 7000}, "b": {"listen_port": 7000}}}
            )
        )
    with pytest.raises(ConfigError, match="unknown instrument 'x'"):
        build_engine(config_from_dict({**base, "instrument": {"a": {"listen_to": ["x"]}}}))
    with pytest.raises(ConfigError, match="listen_to"):
        config_from_dict({"instrument": {"a": {"listen_to": ["b:nonsense"]}}})


def test_instrument_flags_add_instruments_and_other_options_apply_to_all(
    model: Path, tmp_path: Path
) -> None:
    from foretell.cli.run_commands import build_config

    flags = (f"lead={model}:7100:127.0.0.1:7101", f"bass={model}:7102:10.0.0.2:7103")
    config = build_config(mode="filter", log_dir=tmp_path, pi_temp=0.5, seed=3, instruments=flags)
    session = build_engine(config)
    lead, bass = session.engine.instruments["lead"], session.engine.instruments["bass"]
    assert lead.settings.mode == bass.settings.mode == "filter"
    assert lead.settings.pi_temp == bass.settings.pi_temp == 0.5
    assert session.sources["bass"].port == 7102 and session.outputs["bass"].host == "10.0.0.2"
    assert session.sources["lead"].routes.control_prefix == "/foretell/lead"
    with pytest.raises(ConfigError, match=r"NAME=MODEL:IN_PORT\[/ADDRESS\]:OUT_HOST:OUT_PORT"):
        build_config(log_dir=tmp_path, instruments=("lead=model.ftm:7100",))
