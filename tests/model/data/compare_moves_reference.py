"""Compare the moves references in this folder with those of a git commit, value by value: a
discrete control the model kept (its new value the previous event's to the bit, its old value
that rounded to float32), a discrete control the model moved (a grid or set value: any change
is a different draw), and dt and continuous controls (drawn from the network's output, which
moves with its input).

    .venv/bin/python -m tests.model.data.compare_moves_reference [COMMIT]   # default HEAD

Prints one line per reference and label; exits 1 if a moved discrete value changed or a kept one
changed otherwise than float32's rounding (1e-6 or more, or not to the previous event's value).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np

from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import load
from tests.model.data.make_moves_reference import first_event

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def _at(commit: str, path: Path) -> dict[str, np.ndarray]:
    blob = subprocess.run(
        ["git", "show", f"{commit}:{path.relative_to(ROOT)}"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    with np.load(io.BytesIO(blob)) as data:
        return {label: data[label] for label in data.files}


def _previous(first: np.ndarray, label: str, events: np.ndarray) -> np.ndarray:
    """The event each row followed: the row before (``kept``: the first event, every time)."""
    if label == "together":  # four voices side by side, each from the first event
        first = np.tile(first, events.shape[1] // len(first))
    if label == "kept":
        return np.repeat(first[None], len(events), 0)
    return np.concatenate([first[None], events[:-1]])


def _bits(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64)


def compare(name: str, commit: str) -> bool:
    path = HERE / f"moves-{name}-reference.npz"
    spec: MovesSpec = load(HERE / f"moves-{name}.ftm").file.spec
    old = _at(commit, path)
    with np.load(path) as data:
        new = {label: data[label] for label in data.files}
    ok = sorted(old) == sorted(new)
    d = spec.dimension
    discrete = [1 + c for c, kind in enumerate(spec.controls) if kind.discrete]
    for label, b in new.items():
        a, before = old[label], _previous(first_event(name), label, b)
        column = np.arange(b.shape[1]) % d
        changed = _bits(a) != _bits(b)
        is_discrete = np.isin(column, discrete)[None, :].repeat(len(b), 0)
        kept = is_discrete & (_bits(b) == _bits(before))
        rounded = a == b.astype(np.float32).astype(np.float64)
        kept_bad = changed & kept & ~(rounded & (np.abs(a - b) < 1e-6))
        moved_changed = changed & is_discrete & ~kept
        drawn = changed & ~is_discrete
        relative = np.abs(a - b) / np.maximum(np.abs(b), 1e-12)
        worst = float(relative[drawn].max()) if drawn.any() else 0.0
        kept_by = float(np.abs(a - b)[changed & kept].max()) if (changed & kept).any() else 0.0
        print(
            f"{name:5} {label:9} kept controls: {int((changed & kept).sum()):3} changed (largest "
            f"{kept_by:.2g}, {int(kept_bad.sum())} not float32's rounding); moved discrete: "
            f"{int(moved_changed.sum())} changed; dt and continuous: {int(drawn.sum()):3} of "
            f"{int((~is_discrete).sum())} changed (largest relative {worst:.2g})"
        )
        ok = ok and not kept_bad.any() and not moved_changed.any()
    return ok


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    results = [compare(name, commit) for name in ("mixed", "knobs")]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
