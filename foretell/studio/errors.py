"""The one error of the studio's parts: what is wrong, in one line, and its HTTP status."""

from __future__ import annotations

from foretell.errors import ForetellError


class StudioError(ForetellError):
    """A request the studio refuses: no such thing (404), exists or busy (409), bad (400)..."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
