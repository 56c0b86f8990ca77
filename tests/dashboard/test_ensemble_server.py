"""An ensemble's dashboard over real sockets, without a browser: named events, strips, focus and
commands that reach one instrument only."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.dashboard.conftest import ENSEMBLE, LiveEnsemble
from tests.dashboard.test_server import received
from tests.osc_peers import wait_for


def next_state(ws: Any, done: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first state frame for which ``done(state)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in received(ws, "state"):
            if "state" in message and done(message["state"]):
                return dict(message["state"])
    raise AssertionError("no such state frame")


def test_events_and_frames_carry_instrument_names(ensemble: LiveEnsemble) -> None:
    with connect(ensemble.url.replace("http", "ws") + "ws") as ws:
        first = received(ws, "ensemble")
        hello = first[0]["hello"]
        assert hello["instruments"] == list(ENSEMBLE) and hello["instrument"] == "a"
        state = next(m["state"] for m in first if "state" in m)
        assert state["instrument"] == "a"
        strips = next(m["ensemble"] for m in first if "ensemble" in m)["instruments"]
        assert [(s["name"], s["mode"]) for s in strips] == list(ENSEMBLE.items())
        assert all(s["model"] == "random.ftm" and s["dimension"] == 4 for s in strips)

        ensemble.send("b", [0.3, 0.6, 0.9])  # real OSC to b's port; b is in filter mode
        found = received(ws, "prediction")
        events = [m for m in found if "interface" in m or "prediction" in m]
        assert {m["instrument"] for m in events} == {"b"}
        user = next(m for m in events if "interface" in m)
        assert user["interface"] == pytest.approx([0.3, 0.6, 0.9])  # OSC floats are 32-bit

        frames = [m["ensemble"] for m in received(ws, "ensemble") if "ensemble" in m]
        counts = {s["name"]: (s["inputs"], s["outputs"]) for s in frames[-1]["instruments"]}
        assert counts == {"a": (0, 0), "b": (1, 1), "c": (0, 0)}


def test_commands_and_the_pad_go_to_the_named_or_focused_instrument(
    ensemble: LiveEnsemble,
) -> None:
    with connect(ensemble.url.replace("http", "ws") + "ws") as ws:
        received(ws, "state")
        ws.send(json.dumps({"command": "mode", "args": ["battle"], "instrument": "c"}))
        ws.send(json.dumps({"command": "pitemp", "args": [0.25], "instrument": "b"}))
        wait_for(lambda: ensemble.instrument("b").settings.pi_temp == 0.25)
        modes = {name: ensemble.instrument(name).settings.mode for name in ENSEMBLE}
        assert modes == {"a": "listen", "b": "filter", "c": "battle"}
        assert ensemble.instrument("a").settings.pi_temp == 1.0

        ws.send(json.dumps({"select": "b"}))  # the page now looks at b: its state comes here
        state = next_state(ws, lambda state: state["instrument"] != "a")
        assert state["instrument"] == "b" and state["pi_temp"] == 0.25
        ws.send(json.dumps({"interface": [0.5, 0.5, 0.5]}))  # no name: for the focus, b
        ws.send(json.dumps({"command": "pause", "args": [1]}))
        wait_for(lambda: ensemble.instrument("b").settings.paused)
        assert ensemble.instrument("b").inputs == 1 and ensemble.instrument("a").inputs == 0
        assert not ensemble.instrument("a").settings.paused

        ws.send(json.dumps({"command": "reset", "instrument": "nobody"}))
        replies = [m["error"] for m in received(ws, "error") if "error" in m]
        assert replies == ["no instrument 'nobody'"]
        assert ensemble.instrument("b").rejected == {"malformed": 1}  # counted on the focus
        assert ensemble.instrument("a").rejected == {}


def test_model_list_names_each_instruments_current_model(ensemble: LiveEnsemble) -> None:
    def listing(query: str) -> dict[str, Any]:
        with urllib.request.urlopen(ensemble.url + "api/loadable" + query, timeout=5) as r:
            return dict(json.loads(r.read()))

    assert listing("?instrument=b")["current"] == "random.ftm"
    assert listing("")["models"] == ["other.ftm", "random.ftm"]
