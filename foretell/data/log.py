"""The performance log: every interaction, user's and model's, written as it happens.

Format (IMPSY's, so IMPSY's tools read foretell's logs and foretell reads IMPSY's): one file per
session, ``{YYYY-MM-DDTHH-MM-SS}-{dim}d-mdrnn.log`` (local time, ``dim`` = 1 + controls), or
``{take}-{dim}d-mdrnn.log`` for a named take (``open(dim, take=...)``: the studio,
``/foretell/take``),
one row per event, no header::

    2024-05-01T20:15:03.123456,interface,0.5,0.25,0.75
    2024-05-01T20:15:03.141002,rnn,0.49,0.3,0.7

``interface`` rows are the performer's inputs, ``rnn`` rows the model's events, ``guest`` rows
inputs from a host that is not the performer's (``foretell.config.control_sources``): played, kept
for the record, left out of datasets and learning (IMPSY's tools read ``interface`` rows only).
Timestamps come from the engine's monotonic clock, mapped to wall time through one anchor taken
when the log opens.
Everything else goes to a sidecar ``{same stem}.foretell.jsonl`` (IMPSY never reads it): a header
with the anchor and the session's settings, the scheduled and actual send time of every scheduled
model event, the first rejection of each kind, and commands applied.

Crash safety: each row is one ``os.write`` (``foretell.data.append_file``), so a ``kill -9`` loses
at most the row being written; a last row without its newline is reported as broken by the reader
and the rest parses. (A power cut can lose what the OS had not yet written; no ``fsync``.)

The disk: a write that fails (disk full, folder removed, read-only remount) never raises into the
engine. It is told once, rows wait in memory and are written when the disk takes them again;
``not_logged`` counts the rows that never made it (reported at stop and in the sidecar's
summary). ``open`` warns when the log's disk has less than ``LOW_SPACE`` bytes free. Sidecar
records of the kinds in ``CAPPED`` stop after ``SIDECAR_CAP`` each (their counts stay exact).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell import __version__
from foretell.clock import Clock
from foretell.data.append_file import AppendFile
from foretell.errors import LogFormatError
from foretell.events import Event, dimension_for

log = logging.getLogger(__name__)

SOURCE_NAMES = {"user": "interface", "model": "rnn"}
GUEST = "guest"  # a guest's input: its row's source name and its ``LogRow.source``
SOURCES_BY_NAME = {**{name: source for source, name in SOURCE_NAMES.items()}, GUEST: GUEST}
SIDECAR_SUFFIX = ".foretell.jsonl"
LOG_SUFFIX = "d-mdrnn.log"  # after "-{dim}": IMPSY's ending, which its tools glob for
_NAME = re.compile(r"(.+)-(\d+)d-mdrnn\.log$")
_EPOCH = _dt.datetime(1970, 1, 1)
LOW_SPACE = 16 << 20  # bytes free on the log's disk under which start-up warns
SIDECAR_CAP = 1000  # records of one capped kind in a sidecar
CAPPED = frozenset({"command", "reject", "stale", "model"})
REPORT_LIMIT = 10  # disk problems told per session; later ones are only counted


def log_name(when: _dt.datetime, dimension: int) -> str:
    """IMPSY's file name for a session that started at ``when`` (local time)."""
    return f"{when.strftime('%Y-%m-%dT%H-%M-%S')}-{dimension}d-mdrnn.log"


def take_file_name(take: str, dimension: int) -> str:
    """The file of a take called ``take`` (a plain name) for an instrument of ``dimension``."""
    return f"{take}-{dimension}{LOG_SUFFIX}"


def dimension_from_name(path: Path) -> int | None:
    """The dimension encoded in a log file's name, or None if the name is not IMPSY's."""
    match = _NAME.fullmatch(path.name)
    return int(match.group(2)) if match else None


def take_from_name(path: Path) -> str | None:
    """The take a log file's name names (its part before ``-{dim}d-mdrnn.log``), or None."""
    match = _NAME.fullmatch(path.name)
    return match.group(1) if match else None


def _sidecar_of(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".log") + SIDECAR_SUFFIX)


class LogWriter:
    """Writes one session's log and sidecar (call from the engine's loop; opens in ``open``,
    given the dimension of the rows, which names the file)."""

    def __init__(self, directory: Path, clock: Clock, meta: dict[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        self.dimension: int | None = None  # known from the first ``open``
        self.clock = clock
        self.meta = dict(meta or {})
        self.path: Path | None = None
        self.rows = 0
        self.notes: Counter[str] = Counter()
        self._file: AppendFile | None = None
        self._sidecar: AppendFile | None = None
        self._reports = 0
        self._lost_closed = 0  # rows the disk refused in the files closed so far
        self._anchor_wall = 0.0
        self._anchor_clock = 0.0

    @property
    def is_open(self) -> bool:
        return self._file is not None

    @property
    def not_logged(self) -> int:
        """Rows the disk has not taken (in every file of the session): given up on, or still
        waiting in memory."""
        if self._file is None:
            return self._lost_closed
        return self._lost_closed + self._file.lost + self._file.waiting

    def open(self, dimension: int, take: str | None = None) -> Path:
        """Create the session's files for rows of ``dimension`` (never overwriting one) and
        anchor the wall clock.

        ``take`` (a plain name) names the file ``{take}-{dim}d-mdrnn.log``; one that exists
        already is a ``LogFormatError``. Without it the file is named by the time.
        """
        self.dimension = dimension
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LogFormatError(
                f"cannot create the log folder {self.directory} ({exc.strerror or exc})"
            ) from exc
        self._warn_if_low_on_space()
        self.rows, self.notes = 0, Counter()  # each file counts its own (rows are numbered)
        now = _dt.datetime.now()
        self._anchor_wall, self._anchor_clock = now.timestamp(), self.clock.now()
        self.path = (
            self._create(now, dimension) if take is None else self._create_take(take, dimension)
        )
        sidecar = _sidecar_of(self.path)
        try:
            self._sidecar = AppendFile.create(sidecar, self._tell)
        except OSError as exc:
            self._tell(f"cannot create the sidecar {sidecar} ({exc.strerror}); rows are logged")
        self.note(
            "header",
            format="foretell-log-sidecar",
            version=1,
            log=self.path.name,
            dimension=self.dimension,
            wall_anchor=now.isoformat(timespec="microseconds"),
            clock_anchor=self._anchor_clock,
            foretell_version=__version__,
            **self.meta,
        )
        return self.path

    def _create(self, now: _dt.datetime, dimension: int) -> Path:
        for second in range(3600):  # two sessions in one second: take the next free name
            path = self.directory / log_name(now + _dt.timedelta(seconds=second), dimension)
            try:
                self._file = AppendFile.create(path, self._tell)
            except FileExistsError:
                continue
            except OSError as exc:
                raise LogFormatError(f"cannot create log {path} ({exc.strerror or exc})") from exc
            return path
        raise LogFormatError(f"no free log file name in {self.directory}")

    def _create_take(self, take: str, dimension: int) -> Path:
        path = self.directory / take_file_name(take, dimension)
        try:
            self._file = AppendFile.create(path, self._tell)
        except FileExistsError:
            raise LogFormatError(f"a take called {take!r} exists already ({path.name})") from None
        except OSError as exc:
            raise LogFormatError(f"cannot create log {path} ({exc.strerror or exc})") from exc
        return path

    def _warn_if_low_on_space(self) -> None:
        try:
            free = shutil.disk_usage(self.directory).free
        except OSError:
            return
        if free < LOW_SPACE:
            log.warning(
                "only %.1f MB free for logs in %s: rows that do not fit wait in memory, and "
                "are counted as not logged at stop if the disk stays full",
                free / 1e6,
                self.directory,
            )

    def _tell(self, message: str) -> None:
        self._reports += 1
        if self._reports <= REPORT_LIMIT:
            log.warning("%s", message)
        if self._reports == REPORT_LIMIT:
            log.warning("further problems with logs in %s are counted, not told", self.directory)

    def wall_time(self, t: float) -> _dt.datetime:
        """The local wall-clock time of clock time ``t``."""
        return _dt.datetime.fromtimestamp(self._anchor_wall + (t - self._anchor_clock))

    def write(self, event: Event, at: float | None = None) -> int:
        """Append ``event`` as a row stamped ``at`` (default ``event.t``); return its row number."""
        if self._file is None:
            return 0
        stamp = self.wall_time(event.t if at is None else at).isoformat(timespec="microseconds")
        values = ",".join([format(v, ".9g") for v in event.values])
        source = GUEST if event.guest else SOURCE_NAMES[event.source]
        self._file.append(f"{stamp},{source},{values}\n")
        self.rows += 1
        return self.rows

    def note(self, kind: str, **fields: Any) -> None:
        """Append one JSON record to the sidecar (capped kinds stop at ``SIDECAR_CAP``)."""
        self.notes[kind] += 1
        if self._sidecar is None or (kind in CAPPED and self.notes[kind] > SIDECAR_CAP):
            return
        self._sidecar.append(json.dumps({"kind": kind, **fields}, default=str) + "\n")

    def summary(self) -> dict[str, Any]:
        """What the stop line and the sidecar's summary say of the log itself."""
        omitted = {
            k: n - SIDECAR_CAP for k, n in self.notes.items() if k in CAPPED and n > SIDECAR_CAP
        }
        return {"rows": self.rows, "not_logged": self.not_logged, "sidecar_omitted": omitted}

    def close(self, keep_empty: bool = True) -> None:
        """Close the files; with ``keep_empty=False`` a log that got no row is removed with its
        sidecar (a take replaced before anything was played: nothing to keep)."""
        lost = 0
        if self._file is not None:
            self._file.close()
            lost = self._file.lost
            self._lost_closed += lost
            if lost:
                log.warning("%d rows not logged in %s (the disk refused them)", lost, self.path)
        if self._sidecar is not None:
            self._sidecar.close()
        self._file = self._sidecar = None
        empty = self.rows == 0 and not lost
        if empty and not keep_empty and self.path is not None:
            with contextlib.suppress(OSError):  # a log that cannot go stays: never raises
                self.path.unlink(missing_ok=True)
                _sidecar_of(self.path).unlink(missing_ok=True)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    """One row: ``time`` in seconds (local wall clock, naive), source ``user``/``model``/``guest``,
    values."""

    time: float
    source: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class BrokenLine:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class LogContents:
    path: Path
    dimension: int | None
    rows: tuple[LogRow, ...]
    broken: tuple[BrokenLine, ...]


def _parse_row(line: str, controls: int | None) -> LogRow:
    fields = line.split(",")
    if len(fields) < 3:
        raise ValueError("fewer than three fields")
    try:
        stamp = _dt.datetime.fromisoformat(fields[0])
    except ValueError as exc:
        raise ValueError(f"bad timestamp {fields[0][:40]!r}") from exc
    if fields[1] not in SOURCES_BY_NAME:
        raise ValueError(f"unknown source {fields[1][:20]!r}")
    if controls is not None and len(fields) - 2 != controls:
        raise ValueError(f"{len(fields) - 2} values, expected {controls}")
    try:
        values = tuple(float(v) for v in fields[2:])
    except ValueError as exc:
        raise ValueError("a value is not a number") from exc
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values):
        raise ValueError("a value is NaN, infinite or outside [0, 1]")
    seconds = (stamp.replace(tzinfo=None) - _EPOCH).total_seconds()
    return LogRow(seconds, SOURCES_BY_NAME[fields[1]], values)


BLANK_CHECKED = 8  # longer lines are rows (a log never writes whitespace lines that long)


def sample_log(path: str | Path, points: int) -> tuple[int, list[LogRow]]:
    """The number of complete lines of a log and at most ``points`` of its rows, evenly spaced
    (every n-th line; a broken one is left out): a plot of a million-row take parses hundreds
    of lines, not a million. The lines are found by their newlines in one vectorised pass, not
    split into a million strings: a studio worker's CPU while eight plots run is the show's
    machine's. Raises ``LogFormatError`` if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LogFormatError(f"cannot read log {path} ({exc.strerror})") from exc
    starts, ends = _row_bounds(data)
    dimension = dimension_from_name(path)
    controls = dimension - 1 if dimension else None
    step = max(1, math.ceil(len(starts) / max(1, points)))
    rows = []
    for start, end in zip(starts[::step].tolist(), ends[::step].tolist(), strict=True):
        try:
            line = data[start:end].decode("utf-8", "replace").rstrip("\r")
            rows.append(_parse_row(line, controls))
        except ValueError:
            continue
    return len(starts), rows


def _row_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Where each complete line of ``data`` that is not blank starts and ends (its newline)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
    short = np.flatnonzero(ends - starts <= BLANK_CHECKED)
    blank = [i for i in short.tolist() if not data[starts[i] : ends[i]].strip()]
    keep = np.ones(len(ends), dtype=bool)
    keep[blank] = False
    return starts[keep], ends[keep]


def read_log(path: str | Path, dimension: int | None = None) -> LogContents:
    """Read a log, skipping (and listing) broken lines; a last line without newline is broken.

    ``dimension`` defaults to the one in the file name, else the first good row's.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LogFormatError(f"cannot read log {path} ({exc.strerror})") from exc
    dimension = dimension or dimension_from_name(path)
    controls = dimension - 1 if dimension else None
    rows: list[LogRow] = []
    broken: list[BrokenLine] = []
    lines = text.split("\n")
    complete = len(lines) - 1  # the piece after the last newline is incomplete (or empty)
    for number, line in enumerate(lines, start=1):
        if number > complete:
            if line.strip():
                broken.append(BrokenLine(path, number, "incomplete last line (no newline)"))
            break
        if not line.strip():
            continue
        try:
            row = _parse_row(line.rstrip("\r"), controls)
        except ValueError as exc:
            broken.append(BrokenLine(path, number, str(exc)))
            continue
        if controls is None:
            controls = len(row.values)
            dimension = dimension_for(controls)
        rows.append(row)
    return LogContents(path, dimension, tuple(rows), tuple(broken))
