"""``/api/datasets``, ``/api/train``, ``/api/jobs``: takes into datasets, datasets into models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from foretell.model.fileformat import SIZE_PRESETS
from foretell.names import MODEL_SUFFIX, plain_name
from foretell.studio.datasets import Datasets
from foretell.studio.errors import StudioError
from foretell.studio.http import RouteTable, created, read_json
from foretell.studio.jobs import Busy, Job, Jobs, ModelExists
from foretell.studio.models import Models

MAX_EPOCHS = 1000  # of one training job


@dataclass(frozen=True)
class TrainingRoutes:
    datasets: Datasets
    models: Models
    jobs: Jobs

    def table(self) -> RouteTable:
        return [
            ("/api/datasets", self.list_datasets, ["GET"]),
            ("/api/datasets", self.build_dataset, ["POST"]),
            ("/api/datasets/{name}", self.delete_dataset, ["DELETE"]),
            ("/api/train", self.train, ["POST"]),
            ("/api/jobs", self.list_jobs, ["GET"]),
            ("/api/jobs/{id}", self.job, ["GET"]),
            ("/api/jobs/{id}", self.cancel_job, ["DELETE"]),
        ]

    async def list_datasets(self, request: Request) -> dict[str, Any]:
        return {"datasets": await self.datasets.listing()}

    async def build_dataset(self, request: Request) -> Response:
        body = await read_json(request)
        built = await self.datasets.build(body.get("name"), body.get("takes"))
        return created(built)

    async def delete_dataset(self, request: Request) -> dict[str, Any]:
        name = request.path_params["name"]
        self.datasets.delete(name)
        return {"deleted": name}

    async def train(self, request: Request) -> Response:
        """Start training ``size`` on ``dataset`` into the model ``name`` (one job at a time;
        ``epochs``, if given, is the trainer's cap)."""
        body = await read_json(request)
        dataset = self.datasets.path(body.get("dataset"))
        size = body.get("size", "s")
        if size not in SIZE_PRESETS:
            raise StudioError(f"size must be one of {', '.join(SIZE_PRESETS)}, got {size!r}")
        name = plain_name(body.get("name"), "model")
        epochs = body.get("epochs")
        if epochs is not None and not (type(epochs) is int and 1 <= epochs <= MAX_EPOCHS):
            raise StudioError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}")
        target = self.models.folder / f"{name}{MODEL_SUFFIX}"
        if target.exists():
            raise StudioError(f"a model called {name!r} exists already", 409)
        try:
            job = self.jobs.start(dataset, size, target, name, dataset.stem, epochs=epochs)
        except (Busy, ModelExists) as exc:
            raise StudioError(str(exc), 409) from None
        return created({"job": job.id}, 202)

    async def list_jobs(self, request: Request) -> dict[str, Any]:
        return {"jobs": [job.to_json() for job in self.jobs.all()]}

    async def job(self, request: Request) -> dict[str, Any]:
        return self._job(request.path_params["id"]).to_json()

    async def cancel_job(self, request: Request) -> dict[str, Any]:
        job = self._job(request.path_params["id"])
        await self.jobs.cancel(job.id)
        return job.to_json()

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise StudioError(f"no job {job_id[:40]!r}", 404)
        return job
