"""A real engine with a real (random-weight) model, its dashboard, and headless Debian Chromium;
and an ensemble of three such instruments (a, b, c) in one engine, served by one dashboard (and a
big one of sixteen, for the compact layout).

Browser tests skip, saying why, when Playwright or ``/usr/bin/chromium`` is missing. Chromium is
never downloaded: Playwright drives the system's binary.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foretell.config import (
    InteractionConfig,
    LogConfig,
    ModelConfig,
    OscConfig,
    RunConfig,
    config_from_dict,
)
from foretell.dashboard.server import Dashboard, serve_dashboard
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.perform.instrument import InstrumentSnapshot
from foretell.perform.session import EngineHandle, start_engine


@dataclass
class Live:
    """An engine on its own thread, its dashboard, and a UDP socket receiving its OSC output."""

    engine: EngineHandle
    dashboard: Dashboard
    osc_out: socket.socket
    models_dir: Path

    @property
    def url(self) -> str:
        return self.dashboard.url

    def settings(self) -> Any:
        return self.engine.snapshot().instruments[0].settings

    def instrument(self) -> Any:
        return self.engine.snapshot().instruments[0]


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    random_model_file(folder / "random.ftm", dimension=4, units=16, seed=0)
    random_model_file(folder / "other.ftm", dimension=4, units=16, seed=1)
    return folder


@pytest.fixture
def live(tmp_path: Path, models_dir: Path) -> Iterator[Live]:
    """Engine (listen mode) + dashboard on 127.0.0.1, ports chosen by the OS."""
    yield from run_live(tmp_path, models_dir, "127.0.0.1")


@pytest.fixture
def lan_live(tmp_path: Path, models_dir: Path) -> Iterator[Live]:
    """The same, its dashboard bound to 0.0.0.0 (the LAN: a per-run token is needed)."""
    yield from run_live(tmp_path, models_dir, "0.0.0.0")


def run_live(tmp_path: Path, models_dir: Path, host: str) -> Iterator[Live]:
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(("127.0.0.1", 0))
    out.setblocking(False)
    config = RunConfig(
        model=ModelConfig(file=models_dir / "random.ftm", seed=0),
        interaction=InteractionConfig(mode="listen"),
        osc=OscConfig(
            listen_host="127.0.0.1",
            listen_port=0,
            send_host="127.0.0.1",
            send_port=out.getsockname()[1],
        ),
        log=LogConfig(dir=tmp_path / "logs"),
    )
    engine = start_engine(config)
    loop = engine.call(asyncio.get_running_loop)
    session = engine.session
    assert session is not None
    dashboard = engine.call(lambda: serve_dashboard(session.engine, host, 0, models_dir))
    try:
        yield Live(engine, dashboard, out, models_dir)
    finally:
        asyncio.run_coroutine_threadsafe(dashboard.aclose(), loop).result(5)
        engine.stop()
        out.close()


ENSEMBLE = {"a": "listen", "b": "filter", "c": "listen"}  # instrument -> starting mode


@dataclass
class LiveEnsemble:
    """Instruments in one engine on its own thread, one dashboard, a UDP peer for each."""

    engine: EngineHandle
    dashboard: Dashboard
    peers: dict[str, socket.socket]  # where each instrument sends its /NAME/prediction

    @property
    def url(self) -> str:
        return self.dashboard.url

    def instrument(self, name: str) -> InstrumentSnapshot:
        return next(i for i in self.engine.snapshot().instruments if i.name == name)

    def send(self, name: str, values: list[float]) -> None:
        """One ``/interface`` event to instrument ``name``'s OSC port, over real UDP."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(encode_floats("/interface", values), self.engine.osc_address_of(name))


BIG_ENSEMBLE = {f"p{n:02d}": ("filter" if n == 5 else "listen") for n in range(1, 17)}


@pytest.fixture
def ensemble(tmp_path: Path, models_dir: Path) -> Iterator[LiveEnsemble]:
    """Instruments a (listen), b (filter), c (listen) sharing one model; their dashboard."""
    yield from run_ensemble(tmp_path, models_dir, ENSEMBLE)


@pytest.fixture
def big_ensemble(tmp_path: Path, models_dir: Path) -> Iterator[LiveEnsemble]:
    """Sixteen instruments p01..p16 sharing one model, p05 in filter mode; their dashboard."""
    yield from run_ensemble(tmp_path, models_dir, BIG_ENSEMBLE)


def run_ensemble(tmp_path: Path, models_dir: Path, modes: dict[str, str]) -> Iterator[LiveEnsemble]:
    peers = {name: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for name in modes}
    for peer in peers.values():
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
    instruments = {
        name: {"mode": mode, "listen_port": 0, "send_port": peers[name].getsockname()[1]}
        for name, mode in modes.items()
    }
    config = config_from_dict(
        {
            "model": {"file": str(models_dir / "random.ftm"), "seed": 0},
            "osc": {"listen_host": "127.0.0.1", "send_host": "127.0.0.1"},
            "log": {"dir": str(tmp_path / "logs")},
            "instrument": instruments,
        }
    )
    engine = EngineHandle(config).start()
    loop = engine.call(asyncio.get_running_loop)
    session = engine.session
    assert session is not None
    dashboard = engine.call(lambda: serve_dashboard(session.engine, "127.0.0.1", 0, models_dir))
    try:
        yield LiveEnsemble(engine, dashboard, peers)
    finally:
        asyncio.run_coroutine_threadsafe(dashboard.aclose(), loop).result(5)
        engine.stop()
        for peer in peers.values():
            peer.close()
