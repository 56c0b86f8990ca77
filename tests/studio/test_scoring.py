"""Scoring a model on a take: real ``foretell trace`` children, real files, and the cache."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from foretell.data.logs_to_dataset import load_data
from foretell.model.protocol import load_voice
from foretell.model.random import random_model_file
from foretell.model.trace import basis_kinds, trace_dataset
from foretell.studio.scoring import Score, ScoreCache, ScoringError, score
from tests.fixtures import bundled_performances, write_take
from tests.studio.helpers import child_pids, needs_proc, until


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return random_model_file(tmp_path / "m1.ftm", units=16)


@pytest.fixture
def take(tmp_path: Path) -> Path:
    return write_take(tmp_path / "warmup-4d-mdrnn.log", bundled_performances(80)[1], model_every=4)


def test_score_is_the_models_mean_nll_on_the_performers_events(model: Path, take: Path) -> None:
    """On the cells basis, where dense and moves models compare (``foretell trace --basis``)."""
    result = asyncio.run(score(model, take))
    voice, data = load_voice(model), load_data(take)
    cells = basis_kinds(voice.model, data, "cells")
    expected = trace_dataset(voice, data, None, cells).summary()
    assert expected["nll_basis"] == "cells"
    assert result["events"] == 78 and math.isfinite(result["nll"])
    assert result["nll"] == pytest.approx(expected["mean_nll"], rel=1e-6)


@needs_proc
def test_a_score_that_fails_or_times_out_is_one_line(model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ftm"
    broken.write_bytes(b"\x00" * 64)
    take = write_take(tmp_path / "t-4d-mdrnn.log", bundled_performances(20)[0])
    with pytest.raises(ScoringError, match="^cannot score broken.ftm on t-4d-mdrnn.log: ") as info:
        asyncio.run(score(broken, take))
    assert "\n" not in str(info.value) and str(tmp_path) not in str(info.value)

    before = set(child_pids())  # other tests' children, if any, are not this one's

    async def too_slow() -> set[int]:
        with pytest.raises(ScoringError, match="took over 0.001 s"):
            await score(model, take, timeout_s=0.001)
        return set(child_pids()) - before

    assert asyncio.run(too_slow()) == set()  # the child was stopped


def test_the_cache_answers_again_without_a_child_until_a_file_changes(
    model: Path, take: Path
) -> None:
    calls: list[Path] = []

    async def counted(model_path: Path, take_path: Path) -> Score:
        calls.append(take_path)
        return await score(model_path, take_path)

    async def use() -> tuple[Score | None, Score | None, Score, Score | None]:
        cache = ScoreCache(counted)
        first = cache.peek_or_start(model, take)  # None: computing in the background
        await until(lambda: cache.peek(model, take) is not None)
        again = cache.peek_or_start(model, take)
        awaited = await cache.get(model, take)
        with take.open("a") as log:  # the take grows: computed anew
            log.write("2024-05-01T20:16:00.000000,interface,0.5,0.5,0.5\n")
        grown = cache.peek_or_start(model, take)
        await cache.get(model, take)
        await cache.aclose()
        return first, again, awaited, grown

    first, again, awaited, grown = asyncio.run(use())
    assert first is None and grown is None
    assert again == awaited and again is not None and again["events"] == 78
    assert calls == [take, take]  # one child each time the take changed, none for the repeats


def test_the_cache_keeps_a_failure_and_does_not_retry_it(model: Path, tmp_path: Path) -> None:
    take = tmp_path / "empty-4d-mdrnn.log"
    take.write_text("2024-05-01T20:15:03.000000,rnn,0.5,0.5,0.5\n")  # no performer's rows
    calls: list[Path] = []

    async def counted(model_path: Path, take_path: Path) -> Score:
        calls.append(take_path)
        return await score(model_path, take_path)

    async def use() -> Score | None:
        cache = ScoreCache(counted)
        with pytest.raises(ScoringError, match="no usable user events"):
            await cache.get(model, take)
        with pytest.raises(ScoringError, match="no usable user events"):
            await cache.get(model, take)
        found = cache.peek_or_start(model, take)
        await asyncio.sleep(0.1)
        return found

    assert asyncio.run(use()) is None and calls == [take]
    assert ScoreCache().peek_or_start(model, tmp_path / "gone.log") is None  # no loop needed
