"""Counts rejected input by kind and reports each kind once (diagnostic log and sidecar).

Kinds: ``malformed`` (undecodable packet), ``unknown_address``, ``wrong_count``, ``wrong_type``,
``not_finite``, ``out_of_range`` (rejected), ``clipped`` (kept, values clipped), ``bad_command``,
``no_model`` (a mode that needs a model while none is loaded), ``bad_model`` (hot load failed).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)


class Rejections:
    """Per-kind counters; the first of each kind is reported through ``report``."""

    def __init__(self, instrument: str, report: Callable[[str, str], None] | None = None) -> None:
        self.instrument = instrument
        self.counts: Counter[str] = Counter()
        self.latest: dict[str, str] = {}  # the newest detail of each kind
        self._report = report
        self._recording: list[str] | None = None

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        """Within the block, each detail added is also appended to the list it yields (what a
        command was refused for)."""
        outer, self._recording = self._recording, []
        try:
            yield self._recording
        finally:
            self._recording = outer

    def add(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        self.latest[kind] = detail
        if self._recording is not None:
            self._recording.append(detail)
        if self.counts[kind] == 1:
            log.warning(
                "%s: %s input (%s); further ones are counted, not reported",
                self.instrument,
                kind.replace("_", " "),
                detail,
            )
            if self._report is not None:
                self._report(kind, detail)

    @property
    def total(self) -> int:
        return sum(self.counts.values())
