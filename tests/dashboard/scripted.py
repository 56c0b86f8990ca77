"""A scripted engine for the dashboard's page: a real HTTP and WebSocket server on 127.0.0.1
that serves the page's real files and, to each page that connects to ``/ws``, sends the messages
a test gives it (the engine's side of shared/messages.js), keeping what the page sends back.

For messages the engine does not send yet, or not in a form a test can arrange (which controls
moved in an event, the live settings' ranges): the page's half is tested here against the
declared shapes, the engine's half in the tests of ``foretell.dashboard.frames``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from foretell.dashboard.publisher import loadable
from foretell.dashboard.server import static_dir


class ScriptedEngine:
    """Serves the page; sends ``script`` (a list of messages, as one JSON array) to each page
    on connect; ``received`` holds every message pages sent, decoded."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}/"

    def app(self) -> Starlette:
        async def models(request: Request) -> JSONResponse:
            return JSONResponse(loadable(None, None))

        async def stream(ws: WebSocket) -> None:
            await ws.accept()
            await ws.send_text(json.dumps(self.script))
            try:
                while True:
                    self.received.append(json.loads(await ws.receive_text()))
            except WebSocketDisconnect:
                pass

        return Starlette(
            routes=[
                Route("/api/loadable", models),
                WebSocketRoute("/ws", stream),
                Mount("/", StaticFiles(directory=static_dir(), html=True)),
            ]
        )

    def _serve(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def commands(self, verb: str) -> list[list[Any]]:
        """The args of every ``{"command": verb}`` pages sent."""
        return [m["args"] for m in list(self.received) if m.get("command") == verb]


@contextmanager
def scripted_engine(script: list[dict[str, Any]]) -> Iterator[ScriptedEngine]:
    """A ``ScriptedEngine`` serving while the block runs."""
    engine = ScriptedEngine(script)
    engine.thread.start()
    try:
        yield engine
    finally:
        engine.server.should_exit = True
        engine.thread.join(5)
        engine.sock.close()


def hello(instrument: str = "main") -> dict[str, Any]:
    """The greeting the engine sends first (``Publisher.connect``)."""
    modes = ["listen", "filter", "callresponse", "battle", "useronly"]
    return {
        "hello": {
            "instrument": instrument,
            "instruments": [instrument],
            "modes": modes,
            "models_dir": None,
            "fps": 30,
            "presets": {},
        }
    }


def state(now: float, controls: int = 3, instrument: str = "main") -> dict[str, Any]:
    """One state frame (``frames.state_message``'s shape): listen mode, no model playing."""
    return {
        "state": {
            "now": now,
            "instrument": instrument,
            "mode": "listen",
            "modes": ["listen", "filter", "callresponse", "battle", "useronly"],
            "generates": "never",
            "paused": False,
            "responding": False,
            "pi_temp": 1.0,
            "sigma_temp": 1.0,
            "threshold": 0.1,
            "timescale": 1.0,
            "thru": False,
            "constraints": {},
            "dimension": controls + 1,
            "model": None,
            "counts": {"inputs": 0, "answers": 0, "generated": 0, "stale": 0, "cancelled": 0},
            "rates": {"in": 0.0, "out": 0.0},
            "latency_ms": {"p50": None, "p99": None},
            "scheduler_ms": {},
            "rejected": {},
            "log": {"path": None, "rows": 0},
            "learning": None,
        }
    }
