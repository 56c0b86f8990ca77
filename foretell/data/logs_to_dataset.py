"""Turn performance logs (foretell's or IMPSY's) into a training dataset.

Each log file becomes one performance: its rows of the chosen source(s) (``user``: the
performer's, never a guest's; ``all``: every row), in order, with
``dt`` = the time since the previous kept row (the first kept row has no interval and is dropped,
as IMPSY does). Broken lines are skipped, counted and named (file and line). Intervals that round
to zero in the log's microsecond timestamps are raised to ``MIN_DT`` and counted.
``load_data`` reads either a dataset file or logs, for commands that take both (``trace``).
This module does not window or split (see ``foretell.train``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from foretell.data.dataset import Dataset, load_dataset, save_dataset, validate_performances
from foretell.data.log import BrokenLine, read_log
from foretell.errors import LogFormatError

SourceChoice = Literal["user", "model", "all"]
MIN_DT = 1e-6  # seconds: the log's timestamp resolution


@dataclass
class DatasetReport:
    """What went into a dataset and what was skipped."""

    files: list[Path] = field(default_factory=list)
    given: list[Path] = field(default_factory=list)  # the files and folders asked for
    out: Path | None = None  # the dataset file written
    performances: int = 0
    events: int = 0
    broken: list[BrokenLine] = field(default_factory=list)
    skipped_files: list[tuple[Path, str]] = field(default_factory=list)
    raised_dt: int = 0
    dimension: int | None = None


def find_logs(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories expanded to their ``*-mdrnn.log`` files (sorted)."""
    found: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found += sorted(item.glob("*-mdrnn.log"))
        elif item.exists():
            found.append(item)
        else:
            raise LogFormatError(f"log {item} does not exist")
    return found


def log_performance(path: Path, source: SourceChoice, report: DatasetReport) -> np.ndarray | None:
    """One log as an ``(n, dimension)`` array of ``(dt, controls)``, or None if too short."""
    if _binary(path):
        what = "a dataset" if path.suffix == ".npz" else "a binary file"
        report.skipped_files.append((path, f"{what}, not a performance log"))
        return None
    contents = read_log(path, report.dimension)
    report.broken += contents.broken
    if contents.dimension is None:
        report.skipped_files.append((path, "no readable rows"))
        return None
    if report.dimension is None:
        report.dimension = contents.dimension
    elif contents.dimension != report.dimension:
        report.skipped_files.append(
            (path, f"dimension {contents.dimension}, not {report.dimension}")
        )
        return None
    rows = [r for r in contents.rows if source == "all" or r.source == source]
    if len(rows) < 2:
        report.skipped_files.append((path, f"fewer than two {source} rows"))
        return None
    times = np.array([r.time for r in rows])
    dt = np.diff(times)
    report.raised_dt += int((dt < MIN_DT).sum())
    values = np.array([r.values for r in rows[1:]])
    return np.column_stack([np.maximum(dt, MIN_DT), values])


def _binary(path: Path) -> bool:
    """Whether ``path`` starts with bytes no text log has (a NUL: a zip, an .npz, a model)."""
    try:
        with path.open("rb") as file:
            return b"\0" in file.read(4096)
    except OSError:
        return False  # read_log says why it cannot be read


def dataset_file(out: str | Path) -> Path:
    """The dataset file ``--out`` names: ``.npz`` added to a name without a suffix;
    ``LogFormatError`` for another suffix (a dataset is only ever an ``.npz``)."""
    out = Path(out)
    if out.suffix == ".npz":
        return out
    if out.suffix:
        raise LogFormatError(
            f"a dataset is an .npz file, not {out.suffix}: give {out.with_suffix('.npz')}"
        )
    return out.with_name(out.name + ".npz")


def logs_to_performances(
    paths: Iterable[str | Path], source: SourceChoice = "user"
) -> tuple[list[np.ndarray], DatasetReport]:
    given = [Path(p) for p in paths]
    report = DatasetReport(files=find_logs(given), given=given)
    performances = []
    for path in report.files:
        performance = log_performance(path, source, report)
        if performance is not None:
            performances.append(performance)
            report.events += len(performance)
    report.performances = len(performances)
    return performances, report


def build_dataset(
    paths: Iterable[str | Path], out: str | Path, source: SourceChoice = "user"
) -> DatasetReport:
    """Write the logs' performances to ``out`` (IMPSY's ``.npz`` layout, ``dataset_file``: the
    file written is ``report.out``); raise if none."""
    target = dataset_file(out)
    performances, report = logs_to_performances(paths, source)
    _require_events(performances, report, source)
    save_dataset(target, performances)
    report.out = target
    return report


def load_data(path: str | Path, clip: bool = False, source: SourceChoice = "user") -> Dataset:
    """A dataset file (``.npz``), or logs (a log file or a folder of them) read as a dataset of
    their ``source`` rows, validated as a dataset file is (named after ``path``)."""
    path = Path(path)
    if path.suffix == ".npz":
        return load_dataset(path, clip=clip)
    performances, report = logs_to_performances([path], source)
    _require_events(performances, report, source)
    valid = validate_performances(performances, list(range(len(performances))), str(path), clip)
    return Dataset(tuple(p.astype(np.float32) for p in valid), valid[0].shape[1], path.stem)


def _require_events(
    performances: list[np.ndarray], report: DatasetReport, source: SourceChoice
) -> None:
    if not report.files:
        names = ", ".join(str(p) for p in report.given) or "nothing"
        raise LogFormatError(
            f"no performance logs in {names} (a folder's logs are its *-mdrnn.log files)"
        )
    if not performances:
        reasons = "; ".join(f"{p}: {why}" for p, why in report.skipped_files[:3])
        raise LogFormatError(f"no usable {source} events in {len(report.files)} log(s) ({reasons})")
