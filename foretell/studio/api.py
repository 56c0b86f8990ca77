"""The studio's JSON API (docs/studio.md): takes, datasets, training jobs, models, the config.

``Studio`` owns the project's parts and answers each request on the engine's loop: what is
quick (listing, a command to the engine) is done there; what reads or writes whole files
(datasets, uploads, plots) runs in a worker thread; training and scoring run in child processes
at idle priority (``foretell.studio.jobs``, ``foretell.studio.scoring``), so the engine's loop
never waits for them. The page uses this API and nothing else, so everything it does can be
scripted with curl. Every refusal is one ``{"error": ...}`` line with its status.

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
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from foretell import commands as control
from foretell.errors import ForetellError
from foretell.model.fileformat import SIZE_PRESETS, read_metadata
from foretell.modes import get_mode
from foretell.names import BadName, plain_name
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument
from foretell.project.layout import Project
from foretell.studio.config_file import ConfigFile, live_changes
from foretell.studio.datasets import Datasets
from foretell.studio.errors import StudioError
from foretell.studio.jobs import Busy, Jobs, ModelExists
from foretell.studio.models import MAX_UPLOAD, Models
from foretell.studio.scoring import ScoreCache
from foretell.studio.takes import Takes

MAX_JSON = 64 << 10  # bytes of a JSON request body
LOAD_WAIT_S = 15.0  # how long ``perform`` waits for the model to play before it says so
MIN_SCORED_EVENTS = 10  # a take needs this many of the performer's events to score models on
MAX_EPOCHS = 1000  # of one training job


def static_dir() -> Path:
    """The studio page's files, shipped inside the package."""
    return Path(str(resources.files("foretell.studio") / "static"))


@dataclass
class Studio:
    """One project's parts, beside the engine that plays it (see the module docstring)."""

    project: Project
    engine: Engine
    jobs: Jobs = field(default_factory=Jobs)
    scores: ScoreCache = field(default_factory=ScoreCache)

    def __post_init__(self) -> None:
        self.takes = Takes(self.project.folder("logs"))
        self.datasets = Datasets(self.project.folder("datasets"), self.takes)
        self.models = Models(self.project.folder("models"))
        self.config = ConfigFile(self.project.config)
        self.can_train = importlib.util.find_spec("torch") is not None  # else: train elsewhere
        resolved = str(self.project.root.resolve()).encode()
        self.id = hashlib.sha256(resolved).hexdigest()[:12]  # one project, whatever its name

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument()

    def current_take(self) -> Path | None:
        log = self.instrument.log
        return log.path if log is not None and log.is_open else None

    def routes(self) -> list[BaseRoute]:
        """The API's routes, each a method of this object wrapped by ``_endpoint``."""
        table: list[tuple[str, Handler, list[str]]] = [
            ("/api/status", self.status, ["GET"]),
            ("/api/takes", self.list_takes, ["GET"]),
            ("/api/takes/new", self.new_take, ["POST"]),
            ("/api/takes/{name}/rename", self.rename_take, ["POST"]),
            ("/api/takes/{name}/download", self.download_take, ["GET"]),
            ("/api/takes/{name}/plot", self.plot_take, ["GET"]),
            ("/api/takes/{name}", self.delete_take, ["DELETE"]),
            ("/api/datasets", self.list_datasets, ["GET"]),
            ("/api/datasets", self.build_dataset, ["POST"]),
            ("/api/datasets/{name}", self.delete_dataset, ["DELETE"]),
            ("/api/train", self.train, ["POST"]),
            ("/api/jobs", self.list_jobs, ["GET"]),
            ("/api/jobs/{id}", self.job, ["GET"]),
            ("/api/jobs/{id}", self.cancel_job, ["DELETE"]),
            ("/api/models", self.list_models, ["GET"]),
            ("/api/models/upload", self.upload_model, ["POST"]),
            ("/api/models/{name}/download", self.download_model, ["GET"]),
            ("/api/models/{name}", self.delete_model, ["DELETE"]),
            ("/api/perform", self.perform, ["POST"]),
            ("/api/compare", self.compare, ["GET"]),
            ("/api/config", self.get_config, ["GET"]),
            ("/api/config", self.put_config, ["PUT"]),
        ]
        api: list[BaseRoute] = [
            Route(path, _endpoint(handler), methods=methods, name=handler.__name__)
            for path, handler, methods in table
        ]
        page = StaticFiles(directory=static_dir(), html=True, check_dir=False)
        return [*api, Mount("/studio", page, name="studio")]

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.scores.aclose()

    # -- status -------------------------------------------------------------------------------

    async def status(self, request: Request) -> dict[str, Any]:
        """What the page's checklist and header show."""
        snap = self.engine.instrument_snapshot()
        running = [job for job in self.jobs.all() if job.state == "running"]
        current = self.current_take()
        datasets, models = await asyncio.gather(
            asyncio.to_thread(self.datasets.listing), asyncio.to_thread(self.models.listing)
        )
        return {
            "project": self.project.root.name,
            "id": self.id,
            "dimension": snap.dimension,
            "inputs": snap.inputs,
            "answers": snap.answers + snap.generated,
            "model": None if snap.model is None else Path(snap.model).stem,
            "mode": snap.settings.mode,
            "paused": snap.settings.paused,
            "take": None if current is None else self.takes.describe(current, current)["name"],
            "takes": len(self.takes.listing(current)),
            "datasets": len(datasets),
            "models": len(models),
            "job": running[0].id if running else None,
            "can_train": self.can_train,
            "rejected": snap.rejected,
        }

    # -- takes --------------------------------------------------------------------------------

    async def list_takes(self, request: Request) -> dict[str, Any]:
        return {"takes": self.takes.listing(self.current_take())}

    async def new_take(self, request: Request) -> Response:
        """Close the current log and go on in a new one, named so."""
        name = plain_name((await _json(request)).get("name"), "take")
        if self.takes.exists(name):
            raise StudioError(f"a take called {name!r} exists already", 409)
        rejections = self.instrument.rejections
        before = rejections.counts["bad_command"]
        self.engine.command(control.NewTake(name))
        current = self.current_take()
        if rejections.counts["bad_command"] != before or current is None:
            raise StudioError(rejections.latest.get("bad_command", "the take did not start"), 409)
        return _json_response({"take": self.takes.describe(current, current)}, 201)

    async def rename_take(self, request: Request) -> dict[str, Any]:
        new = (await _json(request)).get("name")
        take = self.takes.rename(request.path_params["name"], new, self.current_take())
        return {"take": take}

    async def download_take(self, request: Request) -> Response:
        path = self.takes.path(request.path_params["name"])
        return FileResponse(path, media_type="text/csv", filename=path.name)

    async def plot_take(self, request: Request) -> dict[str, Any]:
        return await asyncio.to_thread(self.takes.plot, request.path_params["name"])

    async def delete_take(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        self.takes.delete(name, self.current_take())
        return {"deleted": name}

    # -- datasets -----------------------------------------------------------------------------

    async def list_datasets(self, request: Request) -> dict[str, Any]:
        return {"datasets": await asyncio.to_thread(self.datasets.listing)}

    async def build_dataset(self, request: Request) -> Response:
        body = await _json(request)
        built = await asyncio.to_thread(self.datasets.build, body.get("name"), body.get("takes"))
        return _json_response(built, 201)

    async def delete_dataset(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        self.datasets.delete(name)
        return {"deleted": name}

    # -- training -----------------------------------------------------------------------------

    async def train(self, request: Request) -> Response:
        """Start training ``size`` on ``dataset`` into the model ``name`` (one job at a time;
        ``epochs``, if given, is the trainer's cap)."""
        body = await _json(request)
        dataset = self.datasets.path(body.get("dataset"))
        size = body.get("size", "s")
        if size not in SIZE_PRESETS:
            raise StudioError(f"size must be one of {', '.join(SIZE_PRESETS)}, got {size!r}")
        name = plain_name(body.get("name"), "model")
        epochs = body.get("epochs")
        if epochs is not None and not (type(epochs) is int and 1 <= epochs <= MAX_EPOCHS):
            raise StudioError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}")
        target = self.models.folder / f"{name}.ftm"
        if target.exists():
            raise StudioError(f"a model called {name!r} exists already", 409)
        try:
            job = self.jobs.start(dataset, size, target, name, dataset.stem, epochs=epochs)
        except (Busy, ModelExists) as exc:
            raise StudioError(str(exc), 409) from None
        return _json_response({"job": job.id}, 202)

    async def list_jobs(self, request: Request) -> dict[str, Any]:
        return {"jobs": [job.to_json() for job in self.jobs.all()]}

    async def job(self, request: Request) -> dict[str, Any]:
        return self._job(request.path_params["id"]).to_json()

    async def cancel_job(self, request: Request) -> dict[str, Any]:
        job = self._job(request.path_params["id"])
        await self.jobs.cancel(job.id)
        return job.to_json()

    def _job(self, job_id: str) -> Any:
        job = self.jobs.get(job_id)
        if job is None:
            raise StudioError(f"no job {job_id[:40]!r}", 404)
        return job

    # -- models -------------------------------------------------------------------------------

    async def list_models(self, request: Request) -> dict[str, Any]:
        """Every model, with its NLL on the newest take it was not trained on (null while that
        is being computed, in a child process)."""
        playing = self.engine.instrument_snapshot().model
        playing_name = None if playing is None else Path(playing).stem
        models = await asyncio.to_thread(self.models.listing)
        takes = [
            take
            for take in self.takes.listing(self.current_take())
            if not take["current"] and take["events"] >= MIN_SCORED_EVENTS
        ]
        for model in models:
            seen = set(self.datasets.takes_of(str(model["data"]["name"])))
            newest = next((take for take in takes if take["name"] not in seen), None)
            model["newest_take"] = None if newest is None else newest["name"]
            model["nll_newest_take"] = None
            if newest is not None:
                found = self.scores.peek_or_start(
                    self.models.path(model["name"]), self.takes.path(newest["name"])
                )
                model["nll_newest_take"] = None if found is None else found.get("nll")
            model["playing"] = model["name"] == playing_name
        return {"models": models, "playing": playing_name}

    async def upload_model(self, request: Request) -> Response:
        _require_type(request, "application/octet-stream")
        name = request.query_params.get("name")
        training = self.jobs.running
        if training is not None and str(name).rpartition(".")[0] == training.name:
            raise StudioError(f"a model called {training.name!r} is being trained", 409)
        body = await _body(request, MAX_UPLOAD)
        model = await asyncio.to_thread(self.models.upload, name, body)
        return _json_response({"model": model}, 201)

    async def download_model(self, request: Request) -> Response:
        path = self.models.path(request.path_params["name"])
        return FileResponse(path, media_type="application/octet-stream", filename=path.name)

    async def delete_model(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        path = self.models.path(name)
        playing = self.engine.instrument_snapshot().model
        if playing is not None and Path(playing).resolve() == path.resolve():
            raise StudioError(f"model {name!r} is playing: perform another one first", 409)
        path.unlink()
        return {"deleted": name}

    async def perform(self, request: Request) -> dict[str, Any]:
        """Hot-swap the model ``model`` in (as ``/foretell/load``) and, if given, set ``mode``;
        answers once it plays (or why it does not)."""
        body = await _json(request)
        path = self.models.path(body.get("model"))
        mode = body.get("mode")
        if mode is not None:
            try:
                mode = get_mode(str(mode)).name
            except ForetellError as exc:
                raise StudioError(str(exc)) from None
        self._check_dimension(path)
        inst = self.instrument
        before = inst.rejections.counts["bad_model"]
        self.engine.command(control.LoadModel(path.name))
        await self._until_playing(inst, path, before)
        if mode is not None:
            self.engine.command(control.SetMode(mode))
        return {"playing": path.stem, "mode": inst.settings.mode}

    def _check_dimension(self, path: Path) -> None:
        dimension = self.instrument.dimension
        theirs = read_metadata(path).get("architecture", {}).get("dimension")
        if dimension is not None and theirs != dimension:
            raise StudioError(
                f"model {path.stem!r} has dimension {theirs}; this instrument has {dimension} "
                f"({dimension - 1} controls)",
                409,
            )

    async def _until_playing(self, inst: Instrument, path: Path, before: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOAD_WAIT_S
        while inst.model_name != str(path):
            if inst.rejections.counts["bad_model"] != before:
                raise StudioError(inst.rejections.latest.get("bad_model", "the model did not load"))
            if loop.time() > deadline:
                raise StudioError(f"model {path.stem!r} is still loading", 504)
            await asyncio.sleep(0.02)

    async def compare(self, request: Request) -> dict[str, Any]:
        """The NLL of two models on one take, each scored in a child process."""
        query = request.query_params
        a, b = self.models.path(query.get("a")), self.models.path(query.get("b"))
        take = self.takes.path(query.get("take"))
        first, second = await asyncio.gather(self._score(a, take), self._score(b, take))
        return {
            "take": query.get("take"),
            "events": first["events"],
            "a": {"model": a.stem, "nll": first["nll"]},
            "b": {"model": b.stem, "nll": second["nll"]},
        }

    async def _score(self, model: Path, take: Path) -> dict[str, Any]:
        return await self.scores.get(model, take)

    # -- config -------------------------------------------------------------------------------

    async def get_config(self, request: Request) -> Response:
        return PlainTextResponse(self.config.text(), media_type="application/toml")

    async def put_config(self, request: Request) -> dict[str, Any]:
        """Check the new config as ``foretell run`` would; write it only when valid; apply
        what the running engine can take now and say what waits for the next start."""
        _require_type(request, "application/toml")
        raw = await _body(request, 256 << 10)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StudioError("the config is not UTF-8 text") from None
        old = self.config.read()
        new = await asyncio.to_thread(self.config.replace, text)
        commands, later = live_changes(old, new)
        applied, refused = [], []
        rejections = self.instrument.rejections
        for command in commands:
            before = dict(rejections.counts)
            self.engine.command(command)
            kinds = [kind for kind, n in rejections.counts.items() if n != before.get(kind, 0)]
            if kinds:
                refused.append(f"{_describe(command)}: {rejections.latest[kinds[0]]}")
            else:
                applied.append(_describe(command))
        return {"applied": applied, "refused": refused, "on_restart": later}


# -- request and response helpers -------------------------------------------------------------


Handler = Callable[[Request], Awaitable[Any]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` answering JSON, with every refusal as ``{"error": one line}``."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except StudioError as exc:
            return _error(str(exc), exc.status)
        except (BadName, ForetellError) as exc:
            return _error(str(exc), 400)
        return result if isinstance(result, Response) else _json_response(result)

    return endpoint


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message.splitlines()[0] if message else "refused"}, status)


def _json_response(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status)


def _require_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise StudioError(f"send the body as {expected}, not {given or 'no type'!r}", 415)


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise StudioError(f"the body is larger than {limit >> 10} KB", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise StudioError(f"the body is larger than {limit >> 10} KB", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> dict[str, Any]:
    """The request's JSON object (``application/json``, at most ``MAX_JSON`` bytes)."""
    _require_type(request, "application/json")
    raw = await _body(request, MAX_JSON)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise StudioError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise StudioError("the body must be a JSON object")
    return body


def _describe(command: control.Command) -> str:
    """A command as the page lists it (``pitemp 0.8``, ``mode filter``, ``load m1.ftm``)."""
    match command:
        case control.SetSetting(name=name, value=value):
            return f"{name} {value:g}" if not isinstance(value, bool) else f"{name} {int(value)}"
        case control.SetMode(mode=mode):
            return f"mode {mode}"
        case control.LoadModel(name=name):
            return f"load {name}"
    return type(command).__name__
