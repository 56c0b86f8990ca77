"""The hot loader's thread: started before the show plays, so a load only queues on its loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from foretell.model.random import random_model_file
from foretell.perform.build import LoaderThread


def test_a_started_loader_starts_no_thread_on_the_loop_that_asks(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=3, units=8, mixtures=2)
    loader = LoaderThread().start()
    names = {t.name for t in threading.enumerate()}
    assert any(name.startswith("foretell-model-loader") for name in names)

    async def load() -> tuple[int, object]:
        loaded: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        before = threading.active_count()
        loader(model, loaded.set_result)
        started = threading.active_count() - before  # a thread started while the show waited
        return started, await asyncio.wait_for(loaded, 30)

    started, voice = asyncio.run(load())
    assert started == 0
    assert not isinstance(voice, BaseException) and voice.model.dimension == 3  # type: ignore[attr-defined]
