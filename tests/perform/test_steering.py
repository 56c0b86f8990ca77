"""Steering an instrument: range, hold, release, control temperatures and dtrange, by command, by
config and over real UDP in battle mode; conditioning filter answers on the performer."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from foretell import commands as control
from foretell.config import RunConfig, config_from_dict, override
from foretell.errors import ConfigError
from foretell.io.osc_codec import decode_packet, encode_floats
from foretell.model.random import random_model_file
from foretell.perform.build import build_engine
from foretell.perform.session import start_engine
from tests.osc_peers import udp_peer
from tests.perform.helpers import instrument, play
from tests.waiting import wait_until

STEER = (
    ("/foretell/range", [0, 0.2, 0.4]),
    ("/foretell/hold", [1, 0.5]),
    ("/foretell/dtrange", [0.05, 0.1]),
)


def test_constraints_shape_what_battle_plays() -> None:
    inst, clock, sink = instrument("battle", timescale=2.0)
    for command in (
        control.SetRange(0, 0.2, 0.4),
        control.Hold(1, 0.5),
        control.SetDtRange(0.05, 0.1),
    ):
        inst.on_command(command)
    clock.advance(5.0)
    events = [e for e in sink.events if e.source == "model"]
    assert len(events) > 40
    values = np.array([e.values for e in events])
    assert ((values[:, 0] >= 0.2) & (values[:, 0] <= 0.4)).all() and (values[:, 1] == 0.5).all()
    assert values[:, 2].std() > 0.01  # the free control still moves
    played = np.diff([e.t for e in events])  # as played: model dt x timescale
    assert played.min() >= 0.05 - 1e-9 and played.max() <= 0.1 + 1e-9
    inst.on_command(control.Release(1))
    inst.on_command(control.Unconstrain())
    assert not inst.settings.constraints.active


def test_a_control_the_instrument_lacks_is_one_rejection() -> None:
    inst, _, _ = instrument("battle")
    inst.on_command(control.SetRange(3, 0.0, 1.0))  # controls are 0, 1, 2
    assert inst.rejections.counts["bad_command"] == 1 and not inst.settings.constraints.active


def test_filter_answers_can_hold_what_the_performer_touches() -> None:
    inst, clock, sink = instrument("filter", condition_on=(0,))
    play(inst, clock, 10)
    users = [e for e in sink.events if e.source == "user"]  # none: thru is off
    answers = sink.events
    assert not users and len(answers) == 10
    expected = [0.1 + 0.8 * (i % 5) / 4 for i in range(10)]
    assert [a.values[0] for a in answers] == pytest.approx(expected)


def test_steering_from_the_config(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", units=16)
    table = {"ranges": [[0, 0.1, 0.3]], "holds": [[2, 0.9]], "dt_range": [0.02, 0.5]}
    config = config_from_dict({"model": {"file": str(model)}, "interaction": table})
    constraints = build_engine(config).instrument.settings.constraints
    assert constraints.ranges == {0: (0.1, 0.3)} and constraints.holds == {2: 0.9}
    assert constraints.dt_range == (0.02, 0.5)
    bad = r"interaction.ranges = \[0.0, 0.5, 0.1\] is invalid .range: low 0.5"
    with pytest.raises(ConfigError, match=bad):
        config_from_dict({"interaction": {"ranges": [[0, 0.5, 0.1]]}})
    wide = config_from_dict({"model": {"file": str(model)}, "interaction": {"holds": [[7, 0.5]]}})
    with pytest.raises(ConfigError, match="hold: control 7 does not exist"):
        build_engine(wide)


def test_battle_over_real_udp_obeys_every_constraint(tmp_path: Path) -> None:
    peer = udp_peer()
    model = random_model_file(tmp_path / "m.ftm", units=16)
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="battle")
    config = override(
        config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=peer.getsockname()[1]
    )
    with (
        start_engine(override(config, "log", dir=tmp_path)) as engine,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as steer,
    ):
        for address, args in STEER:
            steer.sendto(encode_floats(address, args), engine.osc_address)
        steered = wait_until(
            lambda: (s := engine.snapshot().instruments[0]).settings.constraints.dt_range and s,
            what="the three constraints",
        )
        # the event queued before the constraints plays out, then only steered ones are sent
        wait_until(lambda: engine.snapshot().instruments[0].generated >= steered.generated + 2)
        _skip_waiting(peer)
        arrivals = [_arrival(peer) for _ in range(16)]
        snap = engine.snapshot().instruments[0]
    assert snap.rejected == {}
    assert steered.settings.constraints.ranges[0] == pytest.approx((0.2, 0.4))  # float32 OSC
    values = np.array(arrivals)
    assert ((values[:, 0] >= 0.2) & (values[:, 0] <= 0.4)).all()
    assert np.allclose(values[:, 1], 0.5) and values[:, 2].std() > 0.01
    # dt as the engine scheduled it (its sidecar log, on its own clock); a loaded machine delays
    # arrivals, never the deadlines (how late events are sent is ``foretell bench live``'s)
    assert snap.log_path is not None
    intervals = _scheduled_intervals(Path(snap.log_path))[steered.generated + 1 :]
    assert len(intervals) >= 16
    assert min(intervals) >= 0.05 - 1e-9 and max(intervals) <= 0.1 + 1e-9


def _scheduled_intervals(log_path: Path) -> list[float]:
    """Each model event's deadline less the one it was scheduled from: the previous event's
    deadline, or the time a stale one was dropped (the instrument re-anchors there)."""
    sidecar = log_path.with_name(log_path.name.removesuffix(".log") + ".foretell.jsonl")
    intervals, anchor = [], None
    for line in sidecar.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] not in ("timing", "stale"):
            continue
        if anchor is not None:
            intervals.append(record["scheduled"] - anchor)
        anchor = record["scheduled"] if record["kind"] == "timing" else record["at"]
    return intervals


def _skip_waiting(sock: socket.socket) -> None:
    """Discard every datagram already waiting on ``sock``."""
    sock.setblocking(False)
    try:
        while True:
            sock.recv(65536)
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


def _arrival(sock: socket.socket, timeout: float = 5.0) -> list[float]:
    """The next datagram's values."""
    sock.settimeout(timeout)
    data = sock.recv(65536)
    return [float(v) for v in decode_packet(data)[0][1]]  # type: ignore[arg-type]


def test_each_instrument_of_an_ensemble_has_its_own_steering(tmp_path: Path) -> None:
    from foretell.perform.build import build_engine

    model = random_model_file(tmp_path / "m.ftm", units=16)
    config = config_from_dict(
        {
            "model": {"file": str(model)},
            "osc": {"listen_port": 0},
            "log": {"enabled": False},
            "instrument": {"lead": {"holds": [[1, 0.5]]}, "bass": {"dt_range": [0.1, 0.2]}},
        }
    )
    engine = build_engine(config).engine
    assert engine.instrument("lead").settings.constraints.holds == {1: 0.5}
    assert engine.instrument("bass").settings.constraints.dt_range == (0.1, 0.2)
    assert not engine.instrument("bass").settings.constraints.holds


def test_the_fastest_timescale_cannot_flood_the_synth() -> None:
    """``/foretell/timescale 1e-9`` flooded the synth with ~20,000 events/s: now the range stops
    at 0.05 and the model's own events are at least 1 ms apart."""
    inst, clock, sink = instrument("battle", timescale=0.05)
    inst.on_command(control.SetDtRange(0.0, 0.0001))  # the model's shortest intervals
    clock.advance(1.0)
    played = [e.t for e in sink.events if e.source == "model"]
    assert 500 < len(played) <= 1001 and min(np.diff(played)) >= 0.001 - 1e-12
    assert control.parse_command("timescale", [0.05]) == control.SetSetting("timescale", 0.05)
