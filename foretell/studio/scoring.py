"""A model's NLL on a take, for the studio's model list and comparisons.

``score`` runs ``foretell trace MODEL TAKE --json --basis cells`` as a low-priority child
(``foretell.studio.children``), so a long take never stalls the engine's loop; the cells basis
(``docs/model-format.md``) puts dense and moves models on one scale. ``ScoreCache``
keeps each score while neither file changes, and scores one pair at a time in the background for
pages that show ``null`` until a score is ready. Everything runs on the studio's asyncio loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from foretell.errors import ForetellError
from foretell.studio import children

log = logging.getLogger(__name__)

SCORE_TIMEOUT_S = 120.0

Score = dict[str, Any]  # {"events": n, "nll": nats/event, or None where no event was scored}
Scorer = Callable[[Path, Path], Awaitable[Score]]
Stamp = tuple[int, int, int]  # the model's mtime, the take's mtime and size (ns, ns, bytes)


class ScoringError(ForetellError):
    """A model cannot be scored on a take."""


async def score(model_path: Path, take_path: Path, timeout_s: float = SCORE_TIMEOUT_S) -> Score:
    """``{"events", "nll"}``: the mean NLL (nats/event) of ``model_path`` on the performer's
    events of ``take_path`` (a log; a dataset works too). Raises ``ScoringError`` with the
    child's one-line error, or after ``timeout_s``."""
    process = await children.start(
        "trace", str(model_path), str(take_path), "--json", "--basis", "cells"
    )  # one basis for dense and moves models, so that they compare
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        raise ScoringError(
            f"scoring {model_path.name} on {take_path.name} took over {timeout_s:g} s"
        ) from None
    finally:
        await children.stop(process)
    if process.returncode != 0:
        names = {str(model_path): model_path.name, str(take_path): take_path.name}
        error = children.error_line(stderr.decode(errors="replace"), process.returncode or 1, names)
        raise ScoringError(f"cannot score {model_path.name} on {take_path.name}: {error}")
    return _score(stdout.decode(errors="replace"), model_path, take_path)


def _score(stdout: str, model_path: Path, take_path: Path) -> Score:
    """The score from ``trace --json``'s summary (its last line)."""
    try:
        summary = json.loads(stdout.strip().splitlines()[-1])
        events, nll = int(summary["events"]), float(summary["mean_nll"])
    except (IndexError, ValueError, TypeError, KeyError):
        raise ScoringError(
            f"scoring {model_path.name} on {take_path.name} gave no summary"
        ) from None
    return {"events": events, "nll": nll if math.isfinite(nll) else None}


class ScoreCache:
    """Scores of (model, take) pairs, each kept while both files stay as they were (the model's
    mtime, the take's mtime and size); a failure is kept too, so it is not retried each time.
    One pair is scored at a time."""

    def __init__(self, scorer: Scorer = score) -> None:
        self.scorer = scorer
        self._done: dict[tuple[Path, Path], tuple[Stamp, Score | ScoringError]] = {}
        self._pending: dict[tuple[Path, Path, Stamp], asyncio.Task[Score]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)

    def peek(self, model_path: Path, take_path: Path) -> Score | None:
        """The cached score, or None (not computed, being computed, failed, or a file gone)."""
        found = self._lookup(model_path, take_path)
        return found[1] if found is not None and isinstance(found[1], dict) else None

    def peek_or_start(self, model_path: Path, take_path: Path) -> Score | None:
        """The cached score; else None, and the score is computed in the background (unless it
        failed as the files are now, or a file is gone)."""
        found = self._lookup(model_path, take_path)
        if found is not None and found[1] is None:
            self._task(model_path, take_path, found[0])
        return found[1] if found is not None and isinstance(found[1], dict) else None

    async def get(self, model_path: Path, take_path: Path) -> Score:
        """The score, computed (or awaited) if not cached; raises ``ScoringError``."""
        now = stamp(model_path, take_path)
        found = self._cached(model_path, take_path, now)
        if isinstance(found, ScoringError):
            raise found
        if found is not None:
            return found
        return await asyncio.shield(self._task(model_path, take_path, now))

    async def aclose(self) -> None:
        """Stop the scores being computed (at shutdown)."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _lookup(self, model: Path, take: Path) -> tuple[Stamp, Score | ScoringError | None] | None:
        """The files' stamp and what is cached for it; None if a file is gone."""
        try:
            now = stamp(model, take)
        except ScoringError:
            return None
        return now, self._cached(model, take, now)

    def _cached(self, model: Path, take: Path, now: Stamp) -> Score | ScoringError | None:
        entry = self._done.get((model, take))
        return entry[1] if entry is not None and entry[0] == now else None

    def _task(self, model: Path, take: Path, now: Stamp) -> asyncio.Task[Score]:
        """The task scoring this pair as the files are ``now`` (started if there is none)."""
        key = (model, take, now)
        if key not in self._pending:
            task = asyncio.create_task(self._compute(*key), name=f"score {model.name}")
            task.add_done_callback(lambda done: self._forget(key, done))
            self._pending[key] = task
        return self._pending[key]

    def _forget(self, key: tuple[Path, Path, Stamp], task: asyncio.Task[Score]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: a failure is logged and cached by _compute

    async def _compute(self, model: Path, take: Path, when: Stamp) -> Score:
        async with self._one_at_a_time:
            try:
                result = await self.scorer(model, take)
            except ScoringError as exc:
                log.warning("%s", exc)
                self._done[(model, take)] = (when, exc)
                raise
            self._done[(model, take)] = (when, result)
            return result


def stamp(model_path: Path, take_path: Path) -> Stamp:
    """What the cache keys on besides the paths; raises ``ScoringError`` if a file is gone."""
    try:
        model, take = model_path.stat(), take_path.stat()
    except OSError as exc:
        raise ScoringError(f"cannot score: {Path(exc.filename).name} is not there") from None
    return model.st_mtime_ns, take.st_mtime_ns, take.st_size
