"""``/api/models``, ``/api/perform`` and ``/api/compare``: models listed with their held-out
NLL, uploaded, downloaded, deleted, played, and scored side by side."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from foretell import commands as control
from foretell.events import controls_of
from foretell.studio.config_file import ConfigFile
from foretell.studio.datasets import Datasets
from foretell.studio.errors import StudioError
from foretell.studio.http import RouteTable, body_chunks, created, read_json, require_type
from foretell.studio.jobs import Jobs
from foretell.studio.live import Live
from foretell.studio.models import MAX_UPLOAD, Models
from foretell.studio.playing import answering_mode, project_perform_mode, remember
from foretell.studio.scoring import ScoreCache
from foretell.studio.takes import Takes

LOAD_WAIT_S = 15.0  # how long ``perform`` waits for the model to play before it says so
MIN_SCORED_EVENTS = 10  # a take needs this many of the performer's events to score models on


@dataclass(frozen=True)
class ModelRoutes:
    models: Models
    takes: Takes
    datasets: Datasets
    jobs: Jobs
    scores: ScoreCache
    live: Live
    config: ConfigFile

    def table(self) -> RouteTable:
        return [
            ("/api/models", self.listing, ["GET"]),
            ("/api/models/upload", self.upload, ["POST"]),
            ("/api/models/{name}/download", self.download, ["GET"]),
            ("/api/models/{name}", self.delete, ["DELETE"]),
            ("/api/perform", self.perform, ["POST"]),
            ("/api/compare", self.compare, ["GET"]),
        ]

    async def listing(self, request: Request) -> dict[str, Any]:
        """Every model, with its NLL on the newest take it was not trained on (null while that
        is being computed, in a child process)."""
        facts = await self.live.facts()
        playing_name = None if facts.playing is None else facts.playing.stem
        models = await self.models.listing()
        takes = [
            take
            for take in await self.takes.listing(facts.current_take)
            if not take["current"] and take["events"] >= MIN_SCORED_EVENTS
        ]
        for model in models:
            model["playing"] = model["name"] == playing_name
            if "broken" in model:
                continue
            seen = set(self.datasets.takes_of(str(model["data"]["name"])))
            newest = next((take for take in takes if take["name"] not in seen), None)
            model["newest_take"] = None if newest is None else newest["name"]
            model["nll_newest_take"] = None
            if newest is not None:
                found = self.scores.peek_or_start(
                    self.models.path(model["name"]), self.takes.path(newest["name"])
                )
                model["nll_newest_take"] = None if found is None else found.get("nll")
        return {"models": models, "playing": playing_name}

    async def upload(self, request: Request) -> Response:
        require_type(request, "application/octet-stream")
        name = request.query_params.get("name")
        self.models.upload_target(name)  # a refused or taken name: before 64 MB are read
        training = self.jobs.running
        if training is not None and str(name).rpartition(".")[0] == training.name:
            raise StudioError(f"a model called {training.name!r} is being trained", 409)
        model = await self.models.upload(name, body_chunks(request, MAX_UPLOAD))
        return created({"model": model})

    async def download(self, request: Request) -> Response:
        path = self.models.path(request.path_params["name"])
        return FileResponse(path, media_type="application/octet-stream", filename=path.name)

    async def delete(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        path = self.models.path(name)
        playing = await self.live.playing()
        if playing is not None and playing.resolve() == path.resolve():
            raise StudioError(f"model {name!r} is playing: perform another one first", 409)
        path.unlink()
        return {"deleted": name}

    async def perform(self, request: Request) -> dict[str, Any]:
        """Play the model ``model`` in ``mode`` (default: the project's playing mode,
        ``foretell.studio.playing``): hot-swapped in as ``/foretell/load`` unless it plays
        already, the mode set, both written to ``foretell.toml`` for the next start; answers
        once it plays (or why it does not)."""
        body = await read_json(request)
        path = self.models.path(body.get("model"))
        mode = body.get("mode")
        if mode is None:
            mode = await asyncio.to_thread(project_perform_mode, self.config)
        mode = answering_mode(mode)
        await self._check_dimension(path)
        playing = await self.live.playing()
        if playing is None or playing.resolve() != path.resolve():
            await self.live.load(path, LOAD_WAIT_S)
        refused = await self.live.command(control.SetMode(mode))
        if refused is not None:
            raise StudioError(refused)
        reply: dict[str, Any] = {"playing": path.stem, "mode": (await self.live.facts()).mode}
        try:
            await asyncio.to_thread(remember, self.config, path, reply["mode"])
        except StudioError as exc:
            reply["not_saved"] = str(exc)
        return reply

    async def _check_dimension(self, path: Path) -> None:
        dimension = (await self.live.facts()).dimension
        theirs = self.models.dimension(path)
        if dimension is not None and theirs != dimension:
            raise StudioError(
                f"model {path.stem!r} has dimension {theirs}; this instrument has {dimension} "
                f"({controls_of(dimension)} controls)",
                409,
            )

    async def compare(self, request: Request) -> dict[str, Any]:
        """The NLL of two models on one take, each scored in a child process."""
        query = request.query_params
        a, b = self.models.path(query.get("a")), self.models.path(query.get("b"))
        take = self.takes.path(query.get("take"))
        first, second = await asyncio.gather(self.scores.get(a, take), self.scores.get(b, take))
        return {
            "take": query.get("take"),
            "events": first["events"],
            "a": {"model": a.stem, "nll": first["nll"]},
            "b": {"model": b.stem, "nll": second["nll"]},
        }
