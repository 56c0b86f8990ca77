"""The dashboard's messages and windows, and its publisher on a hand-stepped engine (no network)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from foretell.clock import FakeClock
from foretell.commands import SetSetting, parse_command
from foretell.dashboard.feeds import ClientFeed, Handoff, Heard
from foretell.dashboard.frames import RecentValues, settings_message
from foretell.dashboard.publisher import Publisher, loadable
from foretell.errors import ControlError
from foretell.events import Event
from foretell.io.base import ListSink
from foretell.model.expectation import expectation, mixture_weights
from foretell.model.random import random_model_file
from foretell.modes import MODES
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.listeners import Listeners
from foretell.perform.scheduler import Scheduler
from tests.perform.helpers import instrument, play, runtime


def test_recent_values_rate_and_percentiles() -> None:
    window = RecentValues(span=2.0)
    for i in range(100):
        window.add(i * 0.01, 0.001 * (i % 10))
    assert window.rate(1.0) == pytest.approx(50.0)
    figures = window.percentiles_ms(1.0)
    assert figures["n"] == 100 and figures["p50"] == pytest.approx(4.5)
    assert window.percentiles_ms(10.0) == {"p50": None, "p99": None, "n": 0}


def test_the_settings_message_gives_each_setting_s_range_as_the_engine_checks_it() -> None:
    entries = {e["verb"]: e for e in settings_message()["settings"]}
    verbs = ["pitemp", "sigmatemp", "activitytemp", "timescale", "threshold", "thru"]
    assert list(entries) == verbs
    assert entries["pitemp"] == {
        "verb": "pitemp",
        "kind": "number",
        "min": 0.0,
        "max": 10.0,
        "step": 0.01,
        "default": 1.0,
        "unit": "",
        "doc": "π-temperature: 0 always picks the likeliest mixture component",
    }
    assert (entries["timescale"]["min"], entries["timescale"]["max"]) == (0.05, 20.0)
    assert (entries["threshold"]["unit"], entries["timescale"]["unit"]) == ("s", "×")
    thru = entries["thru"]
    assert (thru["kind"], thru["min"], thru["max"], thru["step"]) == ("flag", 0, 1, 1)
    assert thru["default"] is False
    for verb, entry in entries.items():  # what the page offers is exactly what is accepted
        for edge in (entry["min"], entry["max"], entry["default"]):
            assert isinstance(parse_command(verb, [edge]), SetSetting)
        if entry["kind"] == "number":
            for beyond in (entry["min"] - entry["step"], entry["max"] + entry["step"]):
                with pytest.raises(ControlError, match=verb):
                    parse_command(verb, [beyond])


def test_mixture_weights_follow_the_pi_temperature() -> None:
    logits = np.array([0.0, 1.0, 2.0])
    assert mixture_weights(logits, 0.0).tolist() == [0.0, 0.0, 1.0]
    warm, cool = mixture_weights(logits, 2.0), mixture_weights(logits, 0.5)
    assert warm.sum() == pytest.approx(1.0) and cool[2] > warm[2]


def test_expectation_at_zero_temperatures_is_what_the_sampler_plays() -> None:
    rt = runtime(seed=3)
    raw = rt.observe(np.array([0.05, 0.2, 0.7, 0.4])).copy()
    body = rt.model.expected(raw, 0.0, 0.0)
    assert len(body["components"]) == 1
    top = body["components"][0]
    sample = rt.sample(raw, 0.0, 0.0)
    assert top["dt"][0] == pytest.approx(sample[0]) == pytest.approx(body["dt"])
    assert [x[0] for x in top["x"]] == pytest.approx(sample[1:].tolist())
    assert all(lo == mean == hi for mean, lo, hi in top["x"])


def test_expectation_maps_dt_back_as_the_sampler_does_even_far_out() -> None:
    """One inverse transform: the page's dt is the sampler's, also where log dt passes 50."""
    rt = runtime(seed=3)
    raw = rt.observe(np.array([0.05, 0.2, 0.7, 0.4])).copy()
    spec = rt.model.spec
    far = replace(spec, transform=replace(spec.transform, loc=(60.0, *spec.transform.loc[1:])))
    body = expectation(far, raw, 0.0, 0.0)
    mu, _, logits = far.mixture.split(np.asarray(raw, dtype=np.float64))
    played = far.transform.event_from_net(mu[int(np.argmax(logits))].tolist())
    assert body["dt"] == pytest.approx(played[0], rel=1e-12)
    assert body["dt"] > math.exp(50.0)


def test_expectation_spreads_grow_with_sigma_temperature() -> None:
    rt = runtime(seed=4)
    raw = rt.observe(np.array([0.05, 0.2, 0.7, 0.4])).copy()
    narrow, wide = rt.model.expected(raw, 1.0, 0.25), rt.model.expected(raw, 1.0, 2.0)
    assert sum(c["w"] for c in narrow["components"]) == pytest.approx(1.0, abs=0.05)
    for a, b in zip(narrow["components"], wide["components"], strict=True):
        assert a["dt"][2] - a["dt"][1] < b["dt"][2] - b["dt"][1]
        assert all(0.0 <= lo <= mean <= hi <= 1.0 for mean, lo, hi in b["x"])


def test_client_feed_keeps_order_drops_the_oldest_and_conflates_frames() -> None:
    feed = ClientFeed(size=3)
    for i in range(5):
        feed.push(str(i))
    feed.put_latest("state", "s1")
    feed.put_latest("state", "s2")
    assert feed.dropped == 3
    assert asyncio.run(feed.take()) == ["2", "3", "4", "s2"]


def publisher(tmp_path: Path, mode: str = "filter") -> tuple[Publisher, Engine]:
    hub = Listeners()
    inst, clock, _ = instrument(mode=mode, models_dir=tmp_path, listeners=[hub])  # ``load`` looks
    engine = Engine(clock, inst.scheduler, [inst], listeners=hub)
    random_model_file(tmp_path / "a.ftm", dimension=4, seed=2)
    (tmp_path / "sub").mkdir()
    random_model_file(tmp_path / "sub" / "b.ftm", dimension=4, seed=3)
    pub = Publisher(engine, models_dir=tmp_path)
    pub.attach()
    return pub, engine


def messages(feed: ClientFeed, pub: Publisher | None = None) -> list[dict[str, object]]:
    """What a page would be sent next (the feed is emptied, as by the server's send loop), with
    ``pub``'s events handed over so far published first (as its ``run`` does)."""
    if pub is not None:
        pub.publish_events()
    return [json.loads(text) for text in asyncio.run(asyncio.wait_for(feed.take(), 5))]


def test_publisher_streams_events_state_and_expectation(tmp_path: Path) -> None:
    pub, engine = publisher(tmp_path)
    feed = pub.connect()
    assert [next(iter(m)) for m in messages(feed)] == ["hello", "settings"]  # frames: the next
    pub.frame()
    assert [next(iter(m)) for m in messages(feed)] == ["state", "expect"]
    assert pub.receive(json.dumps({"interface": [0.1, 0.2, 0.3]})) is None
    sent = messages(feed, pub)
    t = engine.clock.now()
    first = {"interface": [0.1, 0.2, 0.3], "t": t, "dt": 0.0, "from": "pad", "moved": [0, 1, 2]}
    assert sent[0] == first
    assert "prediction" in sent[1] and len(sent[1]["prediction"]) == 3  # type: ignore[arg-type]
    assert sent[1]["moved"] == [0, 1, 2]  # a dense model changes every control
    pub.frame()
    frame = {next(iter(m)): m for m in messages(feed)}
    assert frame["state"]["state"]["counts"]["inputs"] == 1  # type: ignore[index]
    assert pub.receive(json.dumps({"command": "thru", "args": ["on"]})) is None
    pub.frame()
    state = next(m["state"] for m in messages(feed) if "state" in m)
    assert state["settings"] == {  # type: ignore[index]
        "pitemp": 1.0,
        "sigmatemp": 1.0,
        "activitytemp": 1.0,
        "timescale": 1.0,
        "threshold": 0.1,
        "thru": True,
    }
    assert frame["expect"]["expect"]["t0"] == t  # type: ignore[index]
    pub.frame()
    assert [next(iter(m)) for m in messages(feed)] == ["state"]  # nothing new to expect


def test_publisher_applies_commands_and_rejects_bad_ones(tmp_path: Path) -> None:
    pub, engine = publisher(tmp_path)
    inst = engine.instrument()
    assert pub.receive(json.dumps({"command": "mode", "args": ["listen"]})) is None
    assert pub.receive(json.dumps({"command": "pitemp", "args": [0.5]})) is None
    assert (inst.settings.mode, inst.settings.pi_temp) == ("listen", 0.5)
    assert pub.receive(json.dumps({"command": "load", "args": ["sub/b.ftm"]})) is None
    assert str(inst.model_name).endswith("b.ftm")
    for bad in (
        "nope",
        '{"command": "mode", "args": ["x"]}',
        '{"command": "load", "args": ["../a"]}',
    ):
        reply = pub.receive(bad)
        assert reply is not None and "error" in json.loads(reply)
    assert dict(inst.rejections.counts) == {"malformed": 1, "bad_command": 2}
    assert loadable(pub.models_dir, pub.playing())["models"] == ["a.ftm", "sub/b.ftm"]


def test_publisher_measures_rates_and_latency(tmp_path: Path) -> None:
    pub, engine = publisher(tmp_path)
    inst = engine.instrument()
    play(inst, engine.clock, 20, gap=0.05)  # type: ignore[arg-type]
    now = engine.clock.now()
    assert pub.activity.inputs.rate(now) == 0  # handed over, not yet taken in (the server's)
    pub.publish_events()
    assert pub.activity.inputs.rate(now) == pytest.approx(10.0)
    assert pub.activity.outputs.rate(now) == pytest.approx(10.0)
    assert pub.activity.latency.percentiles_ms(now)["n"] == 20
    pub.detach()
    play(inst, engine.clock, 5)  # type: ignore[arg-type]
    pub.publish_events()
    assert pub.activity.inputs.rate(engine.clock.now()) == pytest.approx(10.0)  # not 12.5


def ensemble_publisher(names: list[str]) -> tuple[Publisher, Engine]:
    """Instruments (filter mode, one shared scheduler) on a FakeClock, and their publisher."""
    clock = FakeClock()
    scheduler = Scheduler(clock)
    sink = ListSink()
    sink.start()
    hub = Listeners()
    insts = [
        Instrument(
            n,
            Settings(mode="filter"),
            clock,
            scheduler,
            [sink],
            runtime=runtime(i),
            listeners=[hub],
        )
        for i, n in enumerate(names)
    ]
    for inst in insts:
        inst.start()
    engine = Engine(clock, scheduler, insts, listeners=hub)
    pub = Publisher(engine, instrument=names[1])
    pub.attach()
    return pub, engine


def test_ensemble_events_and_frames_name_their_instrument(tmp_path: Path) -> None:
    pub, engine = ensemble_publisher(["a", "b", "c"])
    feed = pub.connect()
    pub.frame()
    first = {next(iter(m)): m for m in messages(feed)}
    assert first["hello"]["hello"] == {  # type: ignore[comparison-overlap]
        "instrument": "b",
        "instruments": ["a", "b", "c"],
        "modes": list(MODES),
        "models_dir": None,
        "fps": 30.0,
        "presets": {},
    }
    assert first["state"]["state"]["instrument"] == "b"  # type: ignore[index]
    assert first["expect"] == {"expect": None}  # b has heard nothing yet
    strips = first["ensemble"]["ensemble"]["instruments"]  # type: ignore[index]
    assert [s["name"] for s in strips] == ["a", "b", "c"]

    engine.instrument("c").on_input([0.1, 0.2, 0.3])  # as c's own OSC source would
    sent = messages(feed, pub)
    assert [(next(iter(m)), m["instrument"]) for m in sent] == [
        ("interface", "c"),
        ("prediction", "c"),
    ]
    pub.frame()
    frame = {next(iter(m)): m for m in messages(feed)}
    assert set(frame) == {"state", "ensemble"}  # b's expectation did not change
    counts = {s["name"]: s["inputs"] for s in frame["ensemble"]["ensemble"]["instruments"]}  # type: ignore[index]
    assert counts == {"a": 0, "b": 0, "c": 1}
    assert pub.tracks["c"].activity.inputs.rate(engine.clock.now()) > 0
    assert pub.tracks["a"].activity.inputs.rate(engine.clock.now()) == 0


def test_ensemble_pages_select_and_steer_one_instrument(tmp_path: Path) -> None:
    pub, engine = ensemble_publisher(["a", "b", "c"])
    feed = pub.connect()
    engine.instrument("c").on_input([0.2, 0.2, 0.2])
    messages(feed, pub)
    assert pub.receive(json.dumps({"select": "c"}), feed) is None
    pub.frame()  # the next frame: the new focus's
    frame = {next(iter(m)): m for m in messages(feed)}
    assert frame["state"]["state"]["instrument"] == "c"  # type: ignore[index]
    assert frame["expect"]["expect"]["instrument"] == "c"  # type: ignore[index]
    assert pub.receive(json.dumps({"command": "pitemp", "args": [0.5]}), feed) is None
    assert (
        pub.receive(json.dumps({"command": "mode", "args": ["listen"], "instrument": "a"}), feed)
        is None
    )
    assert pub.receive(json.dumps({"interface": [0.5, 0.5, 0.5]}), feed) is None
    a, b, c = (engine.instrument(n) for n in "abc")
    assert (a.settings.mode, b.settings.mode, c.settings.mode) == ("listen", "filter", "filter")
    assert (a.settings.pi_temp, b.settings.pi_temp, c.settings.pi_temp) == (1.0, 1.0, 0.5)
    assert tuple(i.snapshot().inputs for i in (a, b, c)) == (0, 0, 2)
    for bad in ({"select": "zz"}, {"interface": [0.5, 0.5, 0.5], "instrument": 3}):
        reply = pub.receive(json.dumps(bad), feed)
        assert reply is not None and "no instrument" in json.loads(reply)["error"]
    assert dict(c.rejections.counts) == {"malformed": 2} and not a.rejections.counts
    assert feed.focus == "c"


def test_ensemble_frames_stay_small_and_cheap_for_48_instruments() -> None:
    names = [f"i{k}" for k in range(48)]
    pub, engine = ensemble_publisher(names)
    feeds = [pub.connect() for _ in range(3)]
    for k, name in enumerate(names):
        engine.instrument(name).on_input([k / 48, 0.5, 0.5])
    pub.publish_events()
    for feed in feeds:
        messages(feed)
    start = time.perf_counter()
    for _ in range(30):
        pub.frame()
    per_frame = (time.perf_counter() - start) / 30
    kinds = [next(iter(m)) for m in messages(feeds[0])]
    assert kinds == ["state", "expect", "ensemble"]  # one each a page: newer replace older
    strips = json.dumps(next(m for m in messages(feeds[1]) if "ensemble" in m))
    assert len(strips) < 48 * 400, len(strips)  # ~300 bytes an instrument
    assert per_frame < 0.02, per_frame  # ~1 ms here; 30 of them a second on the server's loop


def test_handoff_wakes_the_server_loop_once_per_batch_and_drops_the_oldest() -> None:
    """Events handed over from another thread (the show's) reach the server's loop in order;
    past its size the oldest go, counted, and the show never waits."""
    handoff = Handoff(size=3)
    events = [Event(t=float(i), dt=0.0, values=(0.5,), source="user") for i in range(5)]
    heard = [Heard("a", event, 0.0) for event in events]

    async def serve() -> list[Heard]:
        handoff.bind()
        show = threading.Thread(target=lambda: [handoff.put(h) for h in heard])
        show.start()
        await asyncio.wait_for(handoff.wait(), 5)  # woken from the other thread
        await asyncio.to_thread(show.join)
        return handoff.take()

    taken = asyncio.run(serve())
    assert [h.event.t for h in taken] == [2.0, 3.0, 4.0] and handoff.dropped == 2
    assert handoff.take() == []


def test_with_no_page_the_show_does_not_wake_the_server_for_each_event() -> None:
    """Without a page, events wait for the server's own tick (no wake-up each: every one is a
    chance for the server's thread to hold the GIL the show wants)."""
    handoff = Handoff()
    event = Event(t=0.0, dt=0.0, values=(0.5,), source="user")

    async def serve() -> bool:
        handoff.bind()
        handoff.put(Heard("a", event, 0.0), wake=False)
        try:
            await asyncio.wait_for(handoff.wait(), 0.2)
        except TimeoutError:
            return False
        return True

    assert asyncio.run(serve()) is False
    assert [h.event for h in handoff.take()] == [event]  # kept for the tick
