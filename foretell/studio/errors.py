"""The one error of the studio's parts: what is wrong, in one line, and its HTTP status."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from foretell.errors import ForetellError


class StudioError(ForetellError):
    """A request the studio refuses: no such thing (404), exists or busy (409), bad (400)..."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[StudioError], tuple[str, int]]:
        return type(self), (str(self), self.status)  # back from a worker process, status kept


def disk_error(exc: OSError, what: str) -> StudioError:
    """``what`` failed with ``exc``: one line without a path, 507 if the disk is full."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    reason = "the disk is full" if full else (exc.strerror or type(exc).__name__).lower()
    return StudioError(f"{what}: {reason}", 507 if full else 500)


@contextlib.contextmanager
def written(what: str) -> Iterator[None]:
    """A block that writes ``what``: an ``OSError`` in it becomes ``disk_error``."""
    try:
        yield
    except OSError as exc:
        raise disk_error(exc, f"cannot write {what}") from None
