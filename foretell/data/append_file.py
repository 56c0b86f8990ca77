"""An append-only text file that outlives its disk: a full disk, a removed folder, a read-only
remount never raise into the performance.

Each line goes out in one ``os.write`` on an ``O_APPEND`` descriptor (no user-space buffer, so
a ``kill -9`` loses at most the line being written). When a write fails, the line (or what of it
was not written) and every later one wait in memory, in order, up to ``pending_limit`` lines
(older ones beyond that are given up and counted in ``lost``); every ``retry_every`` seconds the
next line tries the disk again and, once it takes them, the waiting lines are written first.
A file removed from under it (``st_nlink == 0``) is noticed within ``retry_every`` and made
anew at the same path. Problems are told once each through ``report`` (one line naming the file
and the reason), and recovery likewise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

PENDING_LIMIT = 100_000  # lines held in memory while the disk refuses them (~6 MB of log rows)
RETRY_EVERY = 1.0  # seconds between attempts while failing (and between removal checks)
Report = Callable[[str], None]


class AppendFile:
    """One file opened for appending lines (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        report: Report,
        clock: Callable[[], float] = time.monotonic,
        retry_every: float = RETRY_EVERY,
        pending_limit: int = PENDING_LIMIT,
    ) -> None:
        self.path = path
        self.lost = 0
        self._report = report
        self._clock = clock
        self._retry_every = retry_every
        self._pending: deque[bytes] = deque()
        self._pending_limit = pending_limit
        self._fd: int | None = None
        self._failing: str | None = None  # why the last write failed
        self._next_check = 0.0

    @classmethod
    def create(cls, path: Path, report: Report, **options: object) -> AppendFile:
        """A new file at ``path``; ``FileExistsError`` if one is there, ``OSError`` if it cannot
        be made at all."""
        handle = cls(path, report, **options)  # type: ignore[arg-type]
        handle._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        return handle

    @property
    def waiting(self) -> int:
        """Lines not yet on disk."""
        return len(self._pending)

    @property
    def failing(self) -> bool:
        return self._failing is not None

    def append(self, line: str) -> None:
        """Write ``line`` (ending in a newline) now, or keep it until the disk takes it."""
        self._keep(line.encode("utf-8"))
        now = self._clock()
        if self._failing is not None and now < self._next_check:
            return
        if now >= self._next_check:
            self._next_check = now + self._retry_every
            self._check_removed()
        self._drain()

    def close(self) -> None:
        """Write what waits if the disk allows, then close; what cannot be written is lost."""
        if self._pending and self._fd is not None:
            self._drain()
        self.lost += len(self._pending)
        self._pending.clear()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    def _keep(self, data: bytes) -> None:
        self._pending.append(data)
        if len(self._pending) > self._pending_limit:
            self._pending.popleft()
            self.lost += 1

    def _drain(self) -> None:
        """Write waiting lines in order until one fails (its unwritten rest stays first)."""
        while self._pending and self._fd is not None:
            data = self._pending[0]
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                self._fail(exc)
                return
            if written < len(data):  # a short write: the disk filled mid-line
                self._pending[0] = data[written:]
                self._fail(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
                return
            self._pending.popleft()
        if self._failing is not None and not self._pending:
            self._report(f"log {self.path} is written again")
            self._failing = None

    def _fail(self, exc: OSError) -> None:
        reason = exc.strerror or str(exc)
        if self._failing is None:
            self._report(
                f"cannot write log {self.path} ({reason}); the performance goes on, rows are "
                f"kept in memory and written when the disk takes them again"
            )
        self._failing = reason
        self._next_check = self._clock() + self._retry_every

    def _check_removed(self) -> None:
        """Make the file anew if it (or its folder) was removed from under us."""
        if self._fd is None:
            return
        try:
            removed = os.fstat(self._fd).st_nlink == 0
        except OSError:
            removed = True
        if not removed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            self._fail(exc)
            return
        os.close(self._fd)
        self._fd = fd
        self._report(f"log {self.path} was removed while in use; writing on in a new file there")
