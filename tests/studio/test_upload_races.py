"""A model is put in place by a link that fails if its name is taken (issue 32, defect 7): a
training job never replaces a model uploaded meanwhile, nor an upload one trained meanwhile.
Real training children, real worker processes, real files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from foretell.model.random import random_model_file
from foretell.studio.jobs import Jobs
from foretell.studio.models import Models
from foretell.studio.workers import Workers
from tests.fixtures import small_dataset


async def arriving(body: bytes) -> AsyncIterator[bytes]:
    """``body`` as an upload's chunks arrive (64 KB each)."""
    for start in range(0, len(body), 1 << 16):
        yield body[start : start + (1 << 16)]


def test_a_trained_model_never_replaces_one_uploaded_meanwhile(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = small_dataset(tmp_path / "d1.npz")
    folder = tmp_path / "models"
    folder.mkdir()
    uploaded = random_model_file(tmp_path / "upload.ftm", dimension=3, units=8, mixtures=2)

    async def race() -> tuple[str, str | None]:
        jobs, models = Jobs(), Models(folder, Workers())
        job = jobs.start(data, "xxs", folder / "m.ftm", "m", "d1", epochs=1)
        await models.upload("m.ftm", arriving(uploaded.read_bytes()))  # lands while the job trains
        while job.state == "running":
            await asyncio.sleep(0.05)
        await models.workers.aclose()
        return job.state, job.error

    state, error = asyncio.run(asyncio.wait_for(race(), 180))
    assert state == "failed" and error is not None and "exists already" in error
    assert (folder / "m.ftm").read_bytes() == uploaded.read_bytes()  # the upload is kept
    assert sorted(p.name for p in folder.iterdir()) == ["m.ftm"]  # nothing of the job left


def test_an_upload_never_replaces_a_model_made_while_it_is_checked(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    uploaded = random_model_file(tmp_path / "upload.ftm", dimension=3, units=8, mixtures=2)
    made = random_model_file(tmp_path / "made.ftm", dimension=3, units=16, mixtures=2)

    async def race() -> int:
        models = Models(folder, Workers())
        upload = asyncio.create_task(models.upload("m.ftm", arriving(uploaded.read_bytes())))
        while not any(p.name.startswith(".upload-") for p in folder.iterdir()):
            await asyncio.sleep(0.001)
        (folder / "m.ftm").write_bytes(made.read_bytes())  # a training job finishing meanwhile
        try:
            await upload
        except Exception as exc:
            return int(getattr(exc, "status", 0))
        finally:
            await models.workers.aclose()
        return 201

    assert asyncio.run(asyncio.wait_for(race(), 120)) == 409
    assert (folder / "m.ftm").read_bytes() == made.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["m.ftm"]
