"""The WebSocket transport's doors, through real websockets clients: a page on another origin
(any web site can open a WebSocket to 127.0.0.1) and a DNS-rebinding Host are refused at the
handshake; scripts without an Origin, and origins listed in ``allowed_origins``, come in."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from foretell.io.websocket import WebSocketServer


class ListInbox:
    def __init__(self) -> None:
        self.inputs: list[list[object]] = []
        self.rejects: list[tuple[str, str]] = []

    def on_input(self, values: Any, *, answer: bool = True, guest: bool = False) -> None:
        self.inputs.append(list(values))

    def on_command(self, command: Any) -> None:
        raise AssertionError(f"no command expected, got {command!r}")

    def on_reject(self, kind: str, detail: str) -> None:
        self.rejects.append((kind, detail))


async def _wait_for(condition: Callable[[], object], seconds: float = 2.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.005)


def _attempt(
    headers: dict[str, str], allowed_origins: Sequence[str] = (), name: str = "127.0.0.1"
) -> tuple[int | None, ListInbox]:
    """Open a client with ``headers``; the refusal's HTTP status (None: let in) and the inbox."""

    async def scenario() -> int | None:
        server = WebSocketServer("127.0.0.1", 0, allowed_origins=allowed_origins)
        server.open(inbox)
        port = server.address[1]
        url = f"ws://{name}:{port}"  # the Host header; the connection goes to 127.0.0.1
        await _wait_for(lambda: server._server is not None)
        try:
            async with connect(
                url, additional_headers=headers, host="127.0.0.1", port=port
            ) as client:
                await client.send('{"interface": [0.5]}')
                await _wait_for(lambda: inbox.inputs == [[0.5]])
                return None
        except InvalidStatus as refused:
            return int(refused.response.status_code)
        finally:
            server.close(inbox)

    inbox = ListInbox()
    return asyncio.run(scenario()), inbox


def test_a_foreign_page_is_refused_with_403() -> None:
    status, inbox = _attempt({"Origin": "https://evil.example"})
    assert status == 403 and inbox.inputs == []
    assert inbox.rejects[0][0] == "refused_client" and "evil.example" in inbox.rejects[0][1]


def test_a_rebinding_host_is_refused_with_400() -> None:
    status, inbox = _attempt({}, name="rebind.evil.example")
    assert status == 400 and inbox.inputs == []


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, ()),  # a script: no Origin
        ({"Origin": "http://localhost:8000"}, ("http://localhost:8000",)),
        ({"Origin": "https://any.example"}, ("*",)),
    ],
)
def test_scripts_and_listed_origins_come_in(
    headers: dict[str, str], allowed: tuple[str, ...]
) -> None:
    status, inbox = _attempt(headers, allowed)
    assert status is None and inbox.inputs == [[0.5]]


def test_deeply_nested_json_costs_that_message_only() -> None:
    async def scenario() -> None:
        server = WebSocketServer("127.0.0.1", 0)
        server.open(inbox)
        async with connect(f"ws://127.0.0.1:{server.address[1]}") as client:
            await client.send("[" * 60_000)
            assert "error" in json.loads(await client.recv())
            await client.send('{"interface": [0.25]}')
            await _wait_for(lambda: inbox.inputs == [[0.25]])
        server.close(inbox)

    inbox = ListInbox()
    asyncio.run(scenario())
    assert inbox.rejects[0][0] == "malformed"


def test_commands_from_one_client_are_rate_limited() -> None:
    commands: list[object] = []

    class Steered(ListInbox):
        def on_command(self, command: Any) -> None:
            commands.append(command)

    async def scenario() -> None:
        server = WebSocketServer("127.0.0.1", 0)
        server.open(inbox)
        async with connect(f"ws://127.0.0.1:{server.address[1]}") as client:
            for _ in range(300):
                await client.send('{"command": "pitemp", "args": [0.5]}')
            await _wait_for(lambda: len(commands) + len(inbox.rejects) == 300)
        server.close(inbox)

    inbox = Steered()
    asyncio.run(scenario())
    assert 100 <= len(commands) < 300
    assert {kind for kind, _ in inbox.rejects} == {"rate_limited"}
