"""WebSocket: the JSON codec, and the real server with real websockets clients over loopback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect

from foretell.bench.live_ws import never_reading_client
from foretell.commands import SetMode, SetSetting
from foretell.config import RunConfig, override
from foretell.config.transports import WebSocketConfig
from foretell.errors import ControlError
from foretell.events import Event
from foretell.io.websocket import (
    WebSocketError,
    WebSocketServer,
    WebSocketSink,
    WebSocketSource,
    decode_message,
    encode_event,
)
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle
from tests.io.transport_engine import engine_with

# -- codec --------------------------------------------------------------------------------------


def test_decode_inputs_and_commands() -> None:
    assert decode_message('{"interface": [0.1, 0.5]}') == [0.1, 0.5]
    assert decode_message('{"command": "mode", "args": ["filter"]}') == SetMode("filter")
    assert decode_message('{"command": "pitemp", "args": [0.5]}') == SetSetting("pitemp", 0.5)


@pytest.mark.parametrize(
    "message",
    ["{not json", b"\x00\x01binary", "[1, 2]", '{"values": [1]}', '{"interface": 0.5}'],
)
def test_decode_rejects_malformed(message: Any) -> None:
    with pytest.raises(WebSocketError):
        decode_message(message)


@pytest.mark.parametrize(
    "message",
    ['{"command": "mode", "args": ["nope"]}', '{"command": "fly"}', '{"command": 3}'],
)
def test_decode_rejects_bad_commands(message: str) -> None:
    with pytest.raises(ControlError):
        decode_message(message)


def test_encode_events() -> None:
    model = json.loads(encode_event(Event(1.5, 0.02, (0.25, 1.0), "model")))
    assert model == {"prediction": [0.25, 1.0], "t": 1.5, "dt": 0.02}
    user = json.loads(encode_event(Event(2.0, 0.5, (0.0,), "user")))
    assert user == {"interface": [0.0], "t": 2.0, "dt": 0.5}


# -- the server on its own ----------------------------------------------------------------------


class ListInbox:
    def __init__(self) -> None:
        self.inputs: list[list[object]] = []
        self.commands: list[object] = []
        self.rejects: list[tuple[str, str]] = []

    def on_input(self, values: Any, *, answer: bool = True, guest: bool = False) -> None:
        self.inputs.append(list(values))

    def on_command(self, command: Any) -> None:
        self.commands.append(command)

    def on_reject(self, kind: str, detail: str) -> None:
        self.rejects.append((kind, detail))


async def _wait_for(condition: Any, seconds: float = 2.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.005)


def test_a_client_that_never_reads_is_dropped_not_waited_for() -> None:
    async def scenario() -> None:
        server = WebSocketServer("127.0.0.1", 0, buffer=8192, stall_timeout=0.2)
        inbox = ListInbox()
        server.open(inbox)
        port = server.address[1]
        dead = await asyncio.to_thread(never_reading_client, port)
        async with async_connect(f"ws://127.0.0.1:{port}") as good:
            await _wait_for(lambda: len(server.clients) == 2)
            text = json.dumps({"prediction": [0.5] * 200})
            got = 0
            end = time.monotonic() + 5
            while server.disconnected == 0:
                assert time.monotonic() < end, "the dead client was never disconnected"
                for _ in range(20):
                    started = time.perf_counter()
                    server.broadcast(text)
                    assert time.perf_counter() - started < 0.05  # never waits for a client
                for _ in range(20):
                    await good.recv()
                    got += 1
            assert server.dropped > 0 and len(server.clients) == 1
            await good.send('{"interface": [0.5]}')
            await _wait_for(lambda: inbox.inputs == [[0.5]])
        dead.close()
        server.close(inbox)

    asyncio.run(scenario())


def test_several_clients_bad_messages_and_oversize() -> None:
    async def scenario() -> None:
        server = WebSocketServer("127.0.0.1", 0, max_clients=2)
        inbox = ListInbox()
        sink, source = WebSocketSink(server), WebSocketSource(server)
        sink.start()
        source.start(inbox)
        url = f"ws://127.0.0.1:{server.address[1]}"
        async with async_connect(url) as a, async_connect(url) as b:
            await a.send("{oops")
            assert "error" in json.loads(await a.recv())
            await b.send('{"command": "mode", "args": ["filter"]}')
            await b.send(b"\xff\xfe")
            assert "binary" in json.loads(await b.recv())["error"]
            await _wait_for(lambda: len(inbox.rejects) == 2 and inbox.commands)
            sink.send(Event(1.0, 0.1, (0.3,), "model"))
            sink.echo("main", Event(1.0, 0.1, (0.7,), "user"))
            for client in (a, b):
                assert json.loads(await client.recv())["prediction"] == [0.3]
                assert json.loads(await client.recv())["interface"] == [0.7]
            async with async_connect(url) as c:  # one too many
                with pytest.raises(Exception, match="1013"):
                    await c.recv()
            await a.send(json.dumps({"interface": [0.1] * 20000}))  # > MAX_MESSAGE: closed
            with pytest.raises(Exception, match="1009"):
                await a.recv()
            await b.send('{"interface": [0.9]}')
            await _wait_for(lambda: inbox.inputs == [[0.9]])
        kinds = [kind for kind, _ in inbox.rejects]
        assert kinds == ["malformed", "malformed", "refused_client"]
        assert inbox.commands == [SetMode("filter")]
        source.stop()
        sink.stop()
        assert server.refused == 1

    asyncio.run(scenario())


def test_port_in_use_is_one_error() -> None:
    async def scenario() -> None:
        first = WebSocketServer("127.0.0.1", 0)
        first.open()
        second = WebSocketServer("127.0.0.1", first.address[1])
        with pytest.raises(WebSocketError, match="cannot listen for WebSocket"):
            second.open()
        first.close()

    asyncio.run(scenario())


# -- the real engine ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_model_file(tmp_path_factory.mktemp("model") / "m.ftm", units=16)


def _engine(model: Path, tmp_path: Path, mode: str = "filter") -> EngineHandle:
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode=mode)
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0)
    config = override(config, "log", dir=tmp_path)
    return engine_with(config, WebSocketConfig(port=0))


def _url(engine: EngineHandle) -> str:
    server = engine.transports.sources[0].server  # type: ignore[attr-defined]
    return f"ws://127.0.0.1:{engine.call(lambda: server.address)[1]}"


def test_engine_round_trip_echo_and_control(model: Path, tmp_path: Path) -> None:
    with _engine(model, tmp_path) as engine, connect(_url(engine)) as player:
        with connect(_url(engine)) as display:
            for i in range(10):
                player.send(json.dumps({"interface": [i / 10, 0.5, 0.5]}))
                echo = json.loads(player.recv(2))
                assert echo["interface"] == [i / 10, 0.5, 0.5]
                prediction = json.loads(player.recv(2))
                assert len(prediction["prediction"]) == 3 and prediction["t"] >= echo["t"]
            seen = [json.loads(display.recv(2)) for _ in range(20)]
            assert sum("prediction" in m for m in seen) == 10
        player.send('{"interface": [0.5, 0.5]}')  # wrong length: rejected by the engine
        player.send('{"command": "mode", "args": ["listen"]}')
        player.send('{"command": "pitemp", "args": [-1]}')
        assert "pitemp" in json.loads(player.recv(2))["error"]
        snap = engine.snapshot().instruments[0]
    assert snap.settings.mode == "listen"
    assert snap.inputs == 10 and snap.answers == 10
    assert snap.rejected == {"wrong_count": 1, "bad_command": 1}
