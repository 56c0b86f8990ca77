"""Hot loading: model files read off the show's loop, one at a time, the newest request winning.

A request names a file in the models folder; its outcome (a future) resolves to None once the
model plays, or to why not (unreadable, the wrong size, replaced by a newer request). What to do
with a model read is the instrument's (``install``, given at construction).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable
from pathlib import Path

from foretell import commands as control
from foretell.model.protocol import Voice

ModelLoader = Callable[[Path, Callable[[Voice | BaseException], None]], None]
Outcome = concurrent.futures.Future[str | None]


def load_now(path: Path, done: Callable[[Voice | BaseException], None]) -> None:
    """A ``ModelLoader`` that loads on the calling thread (tests, headless runs)."""
    from foretell.model.protocol import load_voice

    try:
        done(load_voice(path))
    except Exception as exc:
        done(exc)


class HotLoader:
    """Reads the model files an instrument is asked to load (call on the engine's loop).

    ``loader`` reads a file and calls back on the loop; ``install(path, voice or error)`` plays
    what was read and says why not (None: it plays).
    """

    def __init__(
        self,
        loader: ModelLoader,
        models_dir: Path | None,
        install: Callable[[Path, Voice | BaseException], str | None],
    ) -> None:
        self.loader = loader
        self.models_dir = models_dir
        self._install = install
        self._loading: Path | None = None  # the model file being read now
        self._load_next: Path | None = None  # the newest one asked for meanwhile
        self._waiters: list[tuple[Path, Outcome]] = []

    def load(self, name: str) -> Outcome:
        """Read the file ``name`` in the models folder; its outcome. Raises ``ControlError`` for
        a name that is not a model file there."""
        path = control.model_path(self.models_dir, name)
        outcome: Outcome = concurrent.futures.Future()
        self._waiters.append((path, outcome))
        self._start(path)
        return outcome

    def _start(self, path: Path) -> None:
        if self._loading is not None:
            self._load_next = path
            return
        self._loading = path
        self.loader(path, lambda result: self._loaded(path, result))

    def _loaded(self, path: Path, result: Voice | BaseException) -> None:
        self._loading = None
        if self._load_next is not None:  # a newer request came in: that one wins
            newer, self._load_next = self._load_next, None
            self._tell(lambda waited: waited != newer, f"replaced by {newer.name}")
            self._start(newer)
            return
        why = self._install(path, result)
        self._tell(lambda waited: True, why)

    def _tell(self, which: Callable[[Path], bool], why: str | None) -> None:
        """Resolve the outcomes of the paths ``which`` picks (None: it plays)."""
        kept = []
        for path, waiter in self._waiters:
            if not which(path):
                kept.append((path, waiter))
                continue
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                waiter.set_result(why)
        self._waiters = kept
