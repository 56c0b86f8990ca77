"""The studio's JSON API (docs/studio.md): takes, datasets, training jobs, models, the config.

``Studio`` owns the project's parts and hands them to the routes of each part of the loop
(``foretell.studio.routes``: takes, training, models, config; ``foretell.studio.http`` their
plumbing), which answer each request on the server's loop, never the engine's: what is quick
(listing, a command to the engine through ``foretell.studio.live``, which crosses over to the
show's loop) is done there; what parses or writes whole files (take scans, plots, datasets,
upload checks) runs in the studio's worker processes (``foretell.studio.workers``); training
and scoring run in child processes at idle priority (``foretell.studio.jobs``,
``foretell.studio.scoring``), so the show never waits for them. The page uses this API and
nothing else, so everything it does can be scripted with curl. Every refusal is one
``{"error": ...}`` line with its status.

Who may call it is settled in front of it (``foretell.dashboard.doors``: the Host, a foreign
page's Origin, the LAN token). Here, every request that changes something must also carry a body
of the one type it takes (``application/json``, ``application/toml`` for the config,
``application/octet-stream`` for an upload): no page of another site can send those types
without the browser asking first, and this server never says yes to that question.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from foretell.data.log import take_from_name
from foretell.perform.engine import Engine
from foretell.perform.show_loop import ShowLoop
from foretell.project.layout import Project
from foretell.studio.config_file import ConfigFile
from foretell.studio.datasets import Datasets
from foretell.studio.http import routes_of
from foretell.studio.jobs import Jobs
from foretell.studio.live import Live
from foretell.studio.models import Models
from foretell.studio.playing import project_perform_mode
from foretell.studio.routes.config import ConfigRoutes
from foretell.studio.routes.models import ModelRoutes
from foretell.studio.routes.takes import TakeRoutes
from foretell.studio.routes.training import TrainingRoutes
from foretell.studio.scoring import ScoreCache
from foretell.studio.takes import Takes
from foretell.studio.workers import Workers


def static_dir() -> Path:
    """The studio page's files, shipped inside the package."""
    return Path(str(resources.files("foretell.studio") / "static"))


@dataclass
class Studio:
    """One project's parts, beside the engine that plays it (see the module docstring)."""

    project: Project
    engine: Engine
    show: ShowLoop  # the engine's loop (the studio answers on the server's)
    jobs: Jobs = field(default_factory=Jobs)
    scores: ScoreCache = field(default_factory=ScoreCache)

    def __post_init__(self) -> None:
        self.live = Live(self.engine, self.show)
        self.workers = Workers()
        self.takes = Takes(self.project.folder("logs"), self.workers)
        self.datasets = Datasets(self.project.folder("datasets"), self.takes, self.workers)
        self.models = Models(self.project.folder("models"), self.workers)
        self.config = ConfigFile(self.project.config)
        self.can_train = importlib.util.find_spec("torch") is not None  # else: train elsewhere
        resolved = str(self.project.root.resolve()).encode()
        self.id = hashlib.sha256(resolved).hexdigest()[:12]  # one project, whatever its name

    def routes(self) -> list[BaseRoute]:
        """The API's routes (``foretell.studio.routes``) and the page at ``/studio/``."""
        groups = (
            TakeRoutes(self.takes, self.live),
            TrainingRoutes(self.datasets, self.models, self.jobs),
            ModelRoutes(
                self.models,
                self.takes,
                self.datasets,
                self.jobs,
                self.scores,
                self.live,
                self.config,
            ),
            ConfigRoutes(self.config, self.live),
        )
        table = [("/api/status", self.status, ["GET"])]
        api = routes_of([*table, *(row for group in groups for row in group.table())])
        page = StaticFiles(directory=static_dir(), html=True, check_dir=False)
        return [*api, Mount("/studio", page, name="studio")]

    async def aclose(self) -> None:
        """Stop training, scoring and the workers (on the server's loop, as it ends)."""
        await self.jobs.aclose()
        await self.scores.aclose()
        await self.workers.aclose()

    async def status(self, request: Request) -> dict[str, Any]:
        """What the page's checklist and header show."""
        snap, facts = await asyncio.gather(self.live.snapshot(), self.live.facts())
        running = self.jobs.running
        current = facts.current_take
        takes = self.takes.names()  # no take is read: a status is quick, whatever their size
        datasets, models, perform_mode = await asyncio.gather(
            self.datasets.listing(),
            self.models.listing(),
            asyncio.to_thread(project_perform_mode, self.config),
        )
        return {
            "project": self.project.root.name,
            "id": self.id,
            "dimension": snap.dimension,
            "inputs": snap.inputs,
            "answers": snap.answers + snap.generated,
            "model": None if snap.model is None else Path(snap.model).stem,
            "mode": snap.settings.mode,
            "perform_mode": perform_mode,
            "paused": snap.settings.paused,
            "take": None if current is None else take_from_name(current),
            "takes": len(takes),
            "datasets": len(datasets),
            "models": len(models),
            "job": None if running is None else running.id,
            "can_train": self.can_train,
            "rejected": snap.rejected,
        }
