"""Every mode's behaviour, live control and what is dropped, on a FakeClock (instant, exact)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foretell import commands as control
from foretell.clock import FakeClock
from foretell.data.log import read_log
from foretell.events import Event
from foretell.io.base import ListSink
from foretell.model.fileformat import save_model
from foretell.model.protocol import load_voice
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.listeners import Listeners
from foretell.perform.scheduler import Scheduler
from tests.perform.helpers import instrument, play


def test_filter_answers_each_input_at_once() -> None:
    inst, clock, sink = instrument("filter")
    play(inst, clock, 10)
    assert [e.source for e in sink.events] == ["model"] * 10
    assert inst.snapshot().answers == 10 and inst.snapshot().inputs == 10
    first = sink.events[0]
    assert first.t == pytest.approx(1000.0) and len(first.values) == 3


def test_filter_skips_only_stale_answers_but_conditions_on_every_input() -> None:
    inst, _clock, sink = instrument("filter")
    inst.on_input([0.2, 0.2, 0.2], answer=False)
    before = inst.snapshot().expected
    inst.on_input([0.9, 0.9, 0.9], answer=True)
    assert inst.snapshot().inputs == 2 and len(sink.events) == 1
    assert before != inst.snapshot().expected  # the second input moved the model


def test_polyphony_is_filter() -> None:
    inst, _, _ = instrument("polyphony")
    assert inst.settings.mode == "filter"


def test_listen_conditions_but_sends_nothing() -> None:
    inst, clock, sink = instrument("listen")
    play(inst, clock, 3)
    expected = inst.snapshot().expected
    play(inst, clock, 1)
    assert sink.events == [] and inst.snapshot().expected != expected
    clock.advance(5.0)
    assert sink.events == []


def test_callresponse_takes_over_after_threshold_and_yields_when_user_returns() -> None:
    inst, clock, sink = instrument("callresponse", threshold=0.1)
    play(inst, clock, 5)  # 5 inputs, 20 ms apart: the user is playing
    assert sink.events == []
    last_user = clock.now() - 0.02
    clock.advance(0.079)  # still inside the threshold
    assert sink.events == [] and not inst.snapshot().responding
    clock.advance(1.0)
    generated = [e for e in sink.events if e.source == "model"]
    assert generated and inst.snapshot().responding
    assert generated[0].t >= last_user + 0.1
    # each event is due at the previous one's time plus its own predicted dt
    for previous, event in itertools.pairwise(generated):
        assert event.t == pytest.approx(previous.t + event.dt)
    count = len(sink.events)
    inst.on_input([0.5, 0.5, 0.5])  # the user is back: the model stops at once
    assert not inst.snapshot().responding and inst.snapshot().cancelled == 1
    clock.advance(0.09)
    assert len(sink.events) == count
    clock.advance(0.5)  # silent again: it answers again
    assert len(sink.events) > count


def test_callresponse_waits_for_a_first_input() -> None:
    _inst, clock, sink = instrument("callresponse", threshold=0.05)
    clock.advance(2.0)
    assert sink.events == []


def test_battle_plays_on_its_own_while_the_user_plays() -> None:
    inst, clock, sink = instrument("battle")
    clock.advance(0.5)
    n = len(sink.events)
    assert n > 0
    expected = inst.snapshot().expected
    inst.on_input([0.5, 0.5, 0.5])
    assert inst.snapshot().expected == expected  # battle: user input does not steer the model
    clock.advance(0.5)
    assert len(sink.events) > n and inst.snapshot().inputs == 1


def test_useronly_without_model_logs_and_passes_through(tmp_path: Path) -> None:
    inst, clock, sink = instrument("filter", log_dir=tmp_path, with_model=False, input_thru=True)
    assert inst.settings.mode == "useronly"
    play(inst, clock, 4)
    assert [e.source for e in sink.events] == ["user"] * 4
    inst.stop()
    assert inst.log is not None and inst.log.path is not None
    contents = read_log(inst.log.path)
    assert contents.dimension == 4 and len(contents.rows) == 4 and not contents.broken


def test_timescale_stretches_playback_only() -> None:
    _inst, clock, sink = instrument("battle", timescale=2.0)
    clock.advance(1.0)
    events = sink.events
    for previous, event in itertools.pairwise(events):
        assert event.t - previous.t == pytest.approx(2.0 * event.dt)


def test_live_control_between_events() -> None:
    inst, clock, sink = instrument("filter")
    play(inst, clock, 2)
    inst.on_command(control.parse_command("mode", ["listen"]))
    play(inst, clock, 2)
    assert len(sink.events) == 2
    inst.on_command(control.parse_command("pitemp", [0.5]))
    inst.on_command(control.parse_command("sigmatemp", [0.0]))
    inst.on_command(control.parse_command("timescale", [1.5]))
    inst.on_command(control.parse_command("threshold", [0.3]))
    s = inst.settings
    assert (s.pi_temp, s.sigma_temp, s.timescale, s.threshold) == (0.5, 0.0, 1.5, 0.3)
    inst.on_command(control.parse_command("mode", ["battle"]))
    clock.advance(0.3)
    assert len(sink.events) > 2
    inst.on_command(control.parse_command("pause", [1]))
    n = len(sink.events)
    clock.advance(1.0)
    assert len(sink.events) == n and inst.settings.paused
    inst.on_command(control.parse_command("pause", []))  # toggles back
    clock.advance(0.5)
    assert len(sink.events) > n


def test_reset_forgets_the_state() -> None:
    inst, clock, _ = instrument("listen")
    play(inst, clock, 3)
    assert inst.runtime is not None and np.any(inst.runtime.get_state().hidden != 0)
    inst.on_command(control.Reset())
    assert inst.snapshot().expected is None
    assert np.all(inst.runtime.get_state().hidden == 0)


def test_zero_temperatures_make_answers_deterministic() -> None:
    answers = []
    for seed in (1, 2):
        inst, _, sink = instrument("filter", sigma_temp=0.0, pi_temp=0.0)
        assert inst.runtime is not None
        inst.runtime.rng = np.random.default_rng(seed)
        inst.on_input([0.3, 0.3, 0.3])
        answers.append(sink.events[-1].values)
    assert answers[0] == answers[1]


def test_hot_load_carries_state_and_refuses_a_wrong_dimension(tmp_path: Path) -> None:
    inst, clock, sink = instrument("filter", models_dir=tmp_path)
    play(inst, clock, 3)
    assert inst.runtime is not None
    state = inst.runtime.get_state()
    path = save_model(tmp_path / "other.ftm", random_model(units=16, seed=5))
    inst.on_command(control.LoadModel("other.ftm"))
    assert inst.model_name == str(path)
    np.testing.assert_array_equal(inst.runtime.get_state().hidden, state.hidden)
    save_model(tmp_path / "wrong.ftm", random_model(dimension=3, units=16))
    inst.on_command(control.LoadModel("wrong.ftm"))
    inst.on_command(control.LoadModel("missing.ftm"))
    assert inst.rejections.counts["bad_model"] == 1 and inst.model_name == str(path)
    assert inst.rejections.counts["bad_command"] == 1  # missing.ftm is not in the folder
    play(inst, clock, 1)
    assert len(sink.events) == 4


def test_a_command_says_what_became_of_it_and_a_load_when_it_plays(tmp_path: Path) -> None:
    inst, _clock, _ = instrument("filter", models_dir=tmp_path)
    assert inst.on_command(control.SetMode("listen")) == control.Outcome()
    missing = inst.on_command(control.LoadModel("missing.ftm"))
    assert not missing.accepted and "missing.ftm" in str(missing.refused)
    save_model(tmp_path / "other.ftm", random_model(units=16, seed=5))
    plays = inst.on_command(control.LoadModel("other.ftm"))
    assert plays.accepted and plays.played is not None and plays.played.result(0) is None
    save_model(tmp_path / "wrong.ftm", random_model(dimension=3, units=16))
    wrong = inst.on_command(control.LoadModel("wrong.ftm"))  # read at once here: refused
    assert "dimension 3" in str(wrong.refused)
    bare, _, _ = instrument("useronly", with_model=False, dimension=4)
    assert "needs a model" in str(bare.on_command(control.SetMode("filter")).refused)


def test_a_load_replaced_by_a_newer_one_says_so(tmp_path: Path) -> None:
    pending: list[tuple[Path, Any]] = []
    inst, _clock, _ = instrument(
        "filter", loader=lambda path, done: pending.append((path, done)), models_dir=tmp_path
    )
    for name in ("a", "b", "c"):
        save_model(tmp_path / f"{name}.ftm", random_model(units=16, seed=5))
    first, _, last = (inst.on_command(control.LoadModel(f"{n}.ftm")) for n in ("a", "b", "c"))
    path, done = pending.pop(0)
    done(load_voice(path))  # a is read; c is asked for next, b is dropped
    assert first.played is not None and first.played.result(0) == "replaced by c.ftm"
    path, done = pending.pop(0)
    done(load_voice(path))
    assert last.played is not None and last.played.result(0) is None
    assert str(inst.model_name).endswith("c.ftm")
    save_model(tmp_path / "wrong.ftm", random_model(dimension=3, units=16))
    wrong = inst.on_command(control.LoadModel("wrong.ftm"))
    assert wrong.accepted and wrong.played is not None and not wrong.played.done()
    path, done = pending.pop(0)
    done(load_voice(path))  # read off the loop, then refused: the outcome says why
    assert "dimension 3" in str(wrong.played.result(0))


def test_modes_that_need_a_model_are_refused_without_one() -> None:
    inst, _clock, _ = instrument("useronly", with_model=False, dimension=4)
    inst.on_command(control.SetMode("filter"))
    assert inst.settings.mode == "useronly" and inst.rejections.counts["no_model"] == 1


def test_bad_input_is_rejected_counted_and_never_stops_the_engine() -> None:
    inst, _clock, sink = instrument("filter", out_of_range="reject")
    for bad in (
        [0.5, 0.5],
        [0.5, 0.5, 0.5, 0.5],
        ["a", 0.5, 0.5],
        [float("nan"), 0.5, 0.5],
        [float("inf"), 0, 0],
        [1.5, 0.5, 0.5],
        [True, 0.5, 0.5],
        [],
    ):
        inst.on_input(bad)
    inst.on_input([0.5, 0.5, 0.5])
    counts = inst.rejections.counts
    assert counts == {"wrong_count": 3, "wrong_type": 2, "not_finite": 2, "out_of_range": 1}
    assert inst.snapshot().inputs == 1 and len(sink.events) == 1


def test_out_of_range_values_are_clipped_when_configured() -> None:
    inst, _, sink = instrument("listen", input_thru=True, out_of_range="clip")
    inst.on_input([1.5, -0.5, 0.5])
    assert sink.events[0].values == (1.0, 0.0, 0.5)
    assert inst.rejections.counts["clipped"] == 1


class LaggyClock(FakeClock):
    """A clock whose finishing wait overshoots: the loop was blocked."""

    def __init__(self, lag: float) -> None:
        super().__init__()
        self.lag = lag

    def wait_until(self, deadline: float) -> None:
        super().wait_until(deadline + self.lag)


def test_stale_scheduled_events_are_dropped_and_the_chain_reanchors() -> None:
    clock = LaggyClock(lag=0.2)
    from foretell.io.base import ListSink
    from tests.perform.helpers import runtime

    sink = ListSink()
    sink.start()
    inst = Instrument(
        "main", Settings(mode="battle"), clock, Scheduler(clock, 0.05), [sink], runtime=runtime()
    )
    inst.start()
    clock.advance(2.0)
    assert sink.events == [] and inst.snapshot().stale > 0
    clock.lag = 0.0
    clock.advance(1.0)
    assert sink.events  # back on time: it plays again


def test_log_records_user_and_model_rows(tmp_path: Path) -> None:
    inst, clock, _ = instrument("callresponse", log_dir=tmp_path, threshold=0.05)
    play(inst, clock, 5)
    clock.advance(0.5)
    inst.stop()
    assert inst.log is not None and inst.log.path is not None
    rows = read_log(inst.log.path).rows
    sources = [r.source for r in rows]
    assert sources[:5] == ["user"] * 5 and "model" in sources[5:]
    assert len(rows) == 5 + inst.snapshot().generated


def test_one_model_load_in_flight_and_the_newest_wins(tmp_path: Path) -> None:
    """Loads are read off the loop one at a time; requests made meanwhile collapse into the
    newest (a flood of ``load`` commands cannot queue up work)."""
    started: list[tuple[Path, Any]] = []
    inst, _, _ = instrument(
        "filter", loader=lambda path, done: started.append((path, done)), models_dir=tmp_path
    )
    for name in ("a", "b", "c"):
        save_model(tmp_path / f"{name}.ftm", random_model(units=16, seed=1))
    for name in ("a", "b", "c"):
        inst.on_command(control.LoadModel(f"{name}.ftm"))
    assert [p.name for p, _ in started] == ["a.ftm"]
    path, done = started[0]
    done(load_voice(path))  # a finishes; c was asked for since: c is read next, a not kept
    assert [p.name for p, _ in started] == ["a.ftm", "c.ftm"] and inst.model_name != str(path)
    path, done = started[1]
    done(load_voice(path))
    assert inst.model_name == str(tmp_path / "c.ftm")


def test_a_symlink_out_of_the_models_folder_is_refused(tmp_path: Path) -> None:
    inst, _, _ = instrument("filter", models_dir=tmp_path / "models")
    outside = save_model(tmp_path / "outside.ftm", random_model(units=16))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "link.ftm").symlink_to(outside)
    inst.on_command(control.LoadModel("link.ftm"))
    assert inst.rejections.counts["bad_command"] == 1 and inst.model_name is None


class SlowSink(ListSink):
    """An output that holds the loop ``seconds`` on every send (on a FakeClock)."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def _send(self, event: Event) -> bool:
        self.clock.wait_until(self.clock.now() + self.seconds)
        return super()._send(event)


def test_each_instrument_reports_the_lateness_of_its_own_events() -> None:
    """Two instruments share a run's scheduler; the one behind a slow output is the late one,
    and each snapshot says so (it showed the run's mixed figure for both)."""
    clock = FakeClock()
    scheduler = Scheduler(clock)
    sinks = {"slow": SlowSink(clock, 0.005), "quick": ListSink()}
    instruments = []
    for seed, (name, sink) in enumerate(sinks.items()):
        sink.start()
        voice = DenseModel(random_model(dimension=4, units=16)).voice(np.random.default_rng(seed))
        settings = Settings(mode="battle", timescale=10.0)  # intervals well apart
        inst = Instrument(name, settings, clock, scheduler, [sink], runtime=voice)
        inst.start()
        instruments.append(inst)
    clock.advance(30.0)
    slow, quick = (inst.snapshot() for inst in instruments)
    assert slow.generated >= 10 and quick.generated >= 10
    assert slow.timing_ms["p50_ms"] == pytest.approx(5.0) == slow.timing_ms["p99_ms"]
    assert quick.timing_ms["p50_ms"] == 0.0 and quick.timing_ms["p99_ms"] < 1.0
    assert scheduler.lateness.count == slow.generated + quick.generated  # the run's, split


def test_the_engine_hears_instruments_built_to_tell_its_listeners() -> None:
    """Listeners are given at construction: an engine refuses an instrument that was not built
    to tell its ``Listeners``, and every event of one that was reaches the engine's listeners."""
    hub = Listeners()
    inst, clock, _ = instrument("filter", listeners=[hub])
    heard: list[tuple[str, str]] = []
    engine = Engine(clock, inst.scheduler, [inst], listeners=hub)
    engine.add_listener(lambda name, event: heard.append((name, event.source)))
    play(inst, clock, 2)
    assert heard == [("main", "user"), ("main", "model")] * 2
    deaf, _, _ = instrument("filter")
    with pytest.raises(ValueError, match="does not tell the engine's listeners"):
        Engine(clock, deaf.scheduler, [deaf], listeners=hub)
