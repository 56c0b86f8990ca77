"""Run as a process of its own: ``python -m tests.impsy.jack_perform CONFIG PLAYED`` performs an
IMPSY config on the JACK server of the environment (``tests/jack.py``) and prints, as JSON, the
user and model events the engine played.

``PLAYED`` is a JSON list of ``[device, hex]``: each message is sent from a virtual output named
like the device, 6 ms apart (two JACK cycles between devices); then the model is given a few
seconds to answer (call-response).
One process per config: a JACK client closed in a process stalls the next one opened there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import mido

from foretell.config import RunConfig, override
from foretell.config.transports import SerialConfig
from foretell.events import Event
from foretell.impsy.config import import_model, read_run_config
from foretell.run import Running, run_async
from tests.jack import CYCLE_S
from tests.osc_peers import free_udp_port

JACK = "mido.backends.rtmidi/UNIX_JACK"


def for_this_machine(config: RunConfig, logs: Path) -> RunConfig:
    """Free OSC ports on 127.0.0.1, logs in ``logs``, no serial device; WebSocket addresses as
    the config gives them (a server that cannot open must not stop the show)."""
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0)
    config = override(config, "osc", send_host="127.0.0.1", send_port=free_udp_port())
    config = override(config, "log", dir=logs)
    config = override(config, "model", seed=0)
    return dataclasses.replace(config, serial=SerialConfig())


async def _until(condition: Any, timeout: float) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not condition() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.01)


async def perform(config: RunConfig, played: list[tuple[str, mido.Message]]) -> list[Event]:
    """A library run of ``config`` while ``played`` is sent into it; the events it played."""
    backend = mido.Backend(JACK, load=True)
    devices = {d for d, _ in played}
    outputs = {d: backend.open_output(d, virtual=True, client_name=d) for d in devices}
    events: list[Event] = []
    tasks: list[asyncio.Task[None]] = []  # held until the run ends

    async def play(running: Running) -> None:
        try:
            await asyncio.sleep(0.2)
            previous = None
            for device, message in played:
                if device != previous:  # JACK orders one cycle's messages by port, not by time
                    await asyncio.sleep(2 * CYCLE_S)
                    previous = device
                outputs[device].send(message)
                await asyncio.sleep(0.006)
            await _until(lambda: sum(e.source == "user" for e in events) >= len(played), 3.0)
            await _until(lambda: sum(e.source == "model" for e in events) >= 6, 5.0)
        finally:
            running.stop()

    def on_start(running: Running) -> None:
        running.session.engine.add_listener(lambda _, event: events.append(event))
        tasks.append(asyncio.get_running_loop().create_task(play(running)))

    await run_async(config, on_start=on_start)
    await asyncio.sleep(0.2)  # the note-offs at stop cross the JACK graph
    return events


def main(config_path: str, played_json: str) -> None:
    config = for_this_machine(
        import_model(read_run_config(config_path)), Path(config_path).parent / "logs"
    )
    played = [(d, mido.Message.from_hex(h)) for d, h in json.loads(played_json)]
    events = asyncio.run(perform(config, played))
    print(json.dumps([[e.source, list(e.values)] for e in events]), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
