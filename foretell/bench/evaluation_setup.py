"""What every part of ``foretell bench all`` shares: the profiles, the report being built, the
machine, the datasets and their test sets (held out before any training)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from foretell.data.dataset import Dataset, bundled_dataset_path, load_dataset
from foretell.train.batches import TestSplit, split_test

SMALL, LARGE = "12k", "100k"
# Reference figures (issues 3 and 4): the paper's, and IMPSY's measured on this machine.
PAPER_100_EPOCHS_MIN = 70.0
PAPER_PREDICT_MS = {64: 1.85, 512: 4.51}
IMPSY_TFLITE_MS = {64: 0.06, 512: 0.18}
IMPSY_KERAS_MS = 6.6
IMPSY_EPOCH_S_12K = 3.5
IMPSY_TO_BEST_S_12K = 186.0


@dataclass(frozen=True)
class Profile:
    """How much of everything to run (the caps are stated in the README)."""

    name: str
    sizes: tuple[int, ...]
    epochs: dict[str, int] | None  # per dataset; None: training's own defaults (no cap hit)
    patience: dict[str, int] | None
    seeds: tuple[int, ...]  # every configuration is trained once per seed
    keep_events: int | None  # truncate each performance (quick profile)
    keep_performances: int | None
    dims: tuple[int, ...]
    units_sweep: tuple[int, ...]
    xl: bool  # also time IMPSY's xl (3 x 512)
    predict_steps: int
    torch_threads: int | None  # threads for the PyTorch one-step (None: torch's default)
    live_seconds: float
    live_generate_s: float
    live_rate: float
    live_echo: bool
    display_pi: tuple[float, ...]
    display_sigma: tuple[float, ...]
    trace_seconds: float
    grid_pi: tuple[float, ...]
    grid_sigma: tuple[float, ...]
    grid_steps: int
    grid_runs: int
    temperature_units: int


QUICK = Profile(
    name="quick",
    sizes=(8, 16),
    epochs={SMALL: 3, LARGE: 2},
    patience={SMALL: 2, LARGE: 2},
    seeds=(0, 1),
    keep_events=400,
    keep_performances=12,
    dims=(2, 4),
    units_sweep=(16, 64),
    xl=False,
    predict_steps=100,
    torch_threads=1,  # CI on a loaded machine: two spinning threads make a warm-up take seconds
    live_seconds=0.5,
    live_generate_s=0.5,
    live_rate=200.0,
    live_echo=False,
    display_pi=(0.5, 1.0),
    display_sigma=(0.1, 1.0),
    trace_seconds=4.0,
    grid_pi=(0.5, 1.0),
    grid_sigma=(0.1, 1.0),
    grid_steps=200,
    grid_runs=1,
    temperature_units=16,
)
FULL = Profile(
    name="full",
    sizes=(64, 128, 256, 512),
    epochs=None,
    patience=None,
    seeds=(0, 1, 2),
    keep_events=None,
    keep_performances=None,
    dims=(2, 3, 4, 5, 6, 7, 8, 9),
    units_sweep=(16, 32, 64, 128, 256, 512),
    xl=True,
    predict_steps=2000,
    torch_threads=None,
    live_seconds=30.0,
    live_generate_s=5.0,
    live_rate=200.0,
    live_echo=True,
    display_pi=(0.5, 1.0, 1.5),
    display_sigma=(0.01, 0.1, 0.5, 1.0),
    trace_seconds=12.0,
    grid_pi=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
    grid_sigma=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0),
    grid_steps=3000,
    grid_runs=2,
    temperature_units=64,
)


@dataclass
class Report:
    """What the run produced: the JSON results, the figures and the notes."""

    profile: Profile
    out: Path
    progress: bool
    results: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, path: Path, part: str, title: str) -> None:
        self.figures.append({"file": path.name, "part": part, "title": title})


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python/numpy/torch/matplotlib versions, OS and date."""
    from foretell.bench.harness import machine

    info = machine()
    try:
        meminfo = Path("/proc/meminfo").read_text().split()
        info["ram_gb"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1)
    except (OSError, ValueError):
        info["ram_gb"] = None
    info |= {"numpy": np.__version__, "platform": platform.platform()}
    for name in ("torch", "matplotlib"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    info["date"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info["git"] = git_state()
    return info


def git_state() -> dict[str, Any]:
    """The commit the code came from and any uncommitted changes to tracked files."""
    import subprocess

    repo = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = [
        line.split(maxsplit=1)[-1] for line in git("status", "--porcelain", "-uno").splitlines()
    ]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "uncommitted": changed}


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def default_100k() -> Path | None:
    """``../shared/data/lightpad-100k.npz`` next to the working directory or the repository."""
    from foretell.bench.train import SHARED_100K

    repo = Path(__file__).resolve().parents[2]
    for candidate in (SHARED_100K, repo.parent / "shared" / "data" / "lightpad-100k.npz"):
        if candidate.is_file():
            return candidate
    return None


def trimmed(dataset: Dataset, profile: Profile) -> Dataset:
    """The dataset cut down for a quick profile (first events of the first performances)."""
    if profile.keep_events is None and profile.keep_performances is None:
        return dataset
    perfs = dataset.performances[: profile.keep_performances]
    perfs = tuple(p[: profile.keep_events] for p in perfs if len(p) >= 2)
    return Dataset(perfs, dataset.dimension, dataset.name)


def load_datasets(profile: Profile, path_100k: Path | None, report: Report) -> dict[str, Dataset]:
    datasets = {SMALL: trimmed(load_dataset(bundled_dataset_path()), profile)}
    if path_100k is None:
        report.notes.append("LightPad 100k set not found (use --data-100k PATH): its parts skipped")
    else:
        datasets[LARGE] = trimmed(load_dataset(path_100k), profile)
    return datasets


def test_splits(datasets: dict[str, Dataset]) -> dict[str, TestSplit]:
    """Each dataset's test set, held out before training (fixed seed, the same for every run).

    The 12k performances are also in the 100k set; any that fall in the 100k test set move to
    its trainable part, so a 12k-trained model is never scored on data it saw.
    """
    splits = {name: split_test(dataset) for name, dataset in datasets.items()}
    if LARGE in splits and SMALL in datasets:
        seen = {p.tobytes() for p in datasets[SMALL].performances}
        large = splits[LARGE]
        moved = tuple(p for p in large.test if p.tobytes() in seen)
        if moved:
            trainable = replace(large.trainable, performances=large.trainable.performances + moved)
            test = tuple(p for p in large.test if p.tobytes() not in seen)
            splits[LARGE] = TestSplit(trainable, test, large.by)
    return splits


def held_out_sets(
    splits: dict[str, TestSplit],
) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """(trainable, test) performances per dataset, for the baselines and the quality parts."""
    return {n: (list(s.trainable.performances), list(s.test)) for n, s in splits.items()}
