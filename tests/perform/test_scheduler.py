"""The absolute-deadline scheduler on a FakeClock, and its precision on the real loop."""

from __future__ import annotations

import asyncio

import numpy as np

from foretell.clock import FakeClock, LoopClock
from foretell.events import Event
from foretell.io.base import ListSink
from foretell.perform.scheduler import BURST_LIMIT, Scheduler


def _event(t: float, dt: float = 0.01) -> Event:
    return Event(t, dt, (0.5,), "model")


def _sink() -> ListSink:
    sink = ListSink()
    sink.start()
    return sink


def test_events_play_in_deadline_order_and_cancel_withdraws() -> None:
    clock = FakeClock(0.0)
    scheduler, sink = Scheduler(clock), _sink()
    played: list[float] = []
    for due in (0.3, 0.1, 0.2):
        scheduler.schedule(due, _event(due), [sink], lambda e, sent: played.append(sent))
    withdrawn = scheduler.schedule(0.15, _event(0.15), [sink])
    scheduler.cancel(withdrawn)
    clock.advance(1.0)
    assert [e.t for e in sink.events] == [0.1, 0.2, 0.3] and played == [0.1, 0.2, 0.3]


def test_a_chain_keeps_absolute_deadlines() -> None:
    clock = FakeClock(0.0)
    scheduler, sink = Scheduler(clock), _sink()

    def next_one(event: Event, sent: float) -> None:
        if len(sink.events) < 100:
            scheduler.schedule(event.t + 0.01, _event(event.t + 0.01), [sink], next_one)

    scheduler.schedule(0.01, _event(0.01), [sink], next_one)
    clock.advance(2.0)
    assert len(sink.events) == 100
    assert abs(sink.events[-1].t - 1.0) < 1e-9  # no accumulated error


def test_clear_withdraws_everything() -> None:
    clock = FakeClock(0.0)
    scheduler, sink = Scheduler(clock), _sink()
    scheduler.schedule(0.1, _event(0.1), [sink])
    scheduler.clear()
    clock.advance(1.0)
    assert sink.events == [] and clock.pending() == 0


def test_real_loop_plays_every_event_at_its_deadline_never_before() -> None:
    """Real time: 40 events 7 ms apart on the asyncio loop, each sent at or after its deadline
    (the timer fires early, the rest is a precise wait), its lateness recorded. How late, on a
    quiet or a busy machine, is measured by ``foretell bench live``: a shared machine's load
    decides it, not the code, so no figure is asserted here."""

    async def run() -> np.ndarray:
        clock = LoopClock()
        scheduler, sink = Scheduler(clock), _sink()
        done = asyncio.Event()
        start = clock.now() + 0.01

        def next_one(event: Event, sent: float) -> None:
            if len(sink.events) >= 40:
                done.set()
                return
            due = event.t + 0.007
            scheduler.schedule(due, _event(due), [sink], next_one)

        scheduler.schedule(start, _event(start), [sink], next_one)
        await asyncio.wait_for(done.wait(), 5)
        return scheduler.lateness.recent()

    lateness = asyncio.run(run())
    assert len(lateness) == 40
    assert lateness.min() >= 0.0  # never before the deadline


def test_a_burst_of_tiny_intervals_yields_to_the_loop() -> None:
    class CountingClock(FakeClock):
        armed = 0

        def call_at(self, when, callback):  # type: ignore[no-untyped-def]
            self.armed += 1
            return super().call_at(when, callback)

    clock = CountingClock(0.0)
    scheduler, sink = Scheduler(clock), _sink()
    for _ in range(100):
        scheduler.schedule(0.1, _event(0.1), [sink])
    clock.run_until(0.1)
    assert len(sink.events) == 100
    assert clock.armed >= 100 // BURST_LIMIT  # the loop got control back between bursts


def test_a_failing_owner_never_silences_the_others() -> None:
    """An owner whose callback raised left the timer disarmed: every other instrument of the
    ensemble went silent (e.g. one whose next due time came out infinite)."""
    clock = FakeClock(0.0)
    scheduler, sink = Scheduler(clock), _sink()

    def broken(event: Event, sent: float) -> None:
        raise ValueError("event time inf is invalid")

    def steady(event: Event, sent: float) -> None:
        if len(sink.events) < 20:
            scheduler.schedule(event.t + 0.05, _event(event.t + 0.05), [sink], steady)

    scheduler.schedule(0.01, _event(0.01), [sink], broken)
    scheduler.schedule(0.02, _event(0.02), [sink], steady)
    clock.advance(2.0)
    assert len(sink.events) == 20 and scheduler.failed_callbacks == 1
