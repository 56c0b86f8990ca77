"""The library run, ``foretell.run.run``: a real engine on real UDP sockets, stopped from code."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from foretell.config import RunConfig, override
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.run import Running, RunSummary, run
from tests.osc_peers import recv_osc, udp_peer


def _loopback(config: RunConfig, tmp_path: Path, reply_port: int = 9) -> RunConfig:
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=reply_port)
    return override(config, "log", dir=tmp_path / "logs")


def _play(
    datagrams: list[bytes], received: int, answers: int = 0
) -> tuple[list[str], Callable[[Running], None]]:
    """An ``on_start`` that sends ``datagrams`` to the run's OSC port and stops the run once
    its port read ``received`` of them and its instrument played ``answers`` answers."""
    said: list[str] = []

    def on_start(running: Running) -> None:
        said.extend(running.lines())
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for datagram in datagrams:
            sock.sendto(datagram, running.osc_address)
        sock.close()

        async def stop_when_counted() -> None:
            inst = running.session.instrument
            port = running.session.osc_in.udp
            async with asyncio.timeout(5):
                while port.received < received or inst.snapshot().answers < answers:
                    await asyncio.sleep(0.005)
            running.stop()

        asyncio.get_running_loop().create_task(stop_when_counted())

    return said, on_start


def test_a_run_returns_what_it_counted_and_where_it_logged(tmp_path: Path) -> None:
    config = _loopback(override(RunConfig(), "interaction", dimension=4, mode="useronly"), tmp_path)
    good = [encode_floats("/interface", [0.1, 0.2, 0.3]) for _ in range(3)]
    said, on_start = _play([*good, b"not osc"], received=4)
    summary = run(config, on_start=on_start)
    assert isinstance(summary, RunSummary)
    assert (summary.inputs, summary.answers, summary.generated) == (3, 0, 0)
    assert summary.rejected == 1 and summary.osc_ports[0].received == 4
    assert said[0].startswith("foretell: listening for OSC on 127.0.0.1:")
    assert summary.log_path is not None
    rows = Path(summary.log_path).read_text().splitlines()
    assert sum(",interface," in row for row in rows) == 3
    assert summary.lines()[0].startswith("foretell: stopped after 3 inputs and 0 model events")


def test_a_run_on_another_thread_answers_and_stops_when_told(tmp_path: Path) -> None:
    reply = udp_peer(5.0)
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    config = _loopback(config, tmp_path, reply.getsockname()[1])
    _, on_start = _play([encode_floats("/interface", [0.5, 0.5, 0.5])], received=1, answers=1)
    result: list[RunSummary] = []
    thread = threading.Thread(target=lambda: result.append(run(config, on_start=on_start)))
    thread.start()
    try:
        answer = recv_osc(reply, 5.0)
    finally:
        thread.join(10)
        reply.close()
    assert answer is not None and answer[0] == "/prediction" and len(answer[1]) == 3
    assert not thread.is_alive() and result[0].answers == 1 and result[0].inputs == 1
    assert dataclasses.asdict(result[0].instruments[0])["name"] == "main"
