"""Write the files ``tests/model/test_moves_reference.py`` compares against, with the foretell
that runs this script. They were written by the moves model's first sampler (main at dccf6a8,
before its step was made faster), so the test holds today's code to what that code played,
and written again when a control the model keeps became the previous value exactly (not its
float32 rounding). Rerun only to take a deliberate change (``PYTHONPATH`` pointing at that
code's tree), then see what changed with ``compare_moves_reference.py``:

    .venv/bin/python tests/model/data/make_moves_reference.py

It writes two small moves model files with random weights, where they are missing: ``mixed`` (a
7-bit grid and a 5-level grid, both with flat ranges, a set of eight, a continuous control, some
moving sets named and an "other" slot) and ``knobs`` (four 7-bit knobs moved one at a time, no
flat part, no other slot); then for each what its voices play under every setting of
``SETTINGS`` (the temperatures, the activity temperature, steering), what a voice draws again
and again from one kept prediction, and what four voices stepped together play.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from foretell.model.constraints import Constraints
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import load
from foretell.model.transform import DataTransform

HERE = Path(__file__).resolve().parent
STEPS = 200
SEVEN_BIT = ControlKind("grid", origin=0.0, step=1 / 127, levels=128)
FIVE = ControlKind("grid", origin=0.0, step=0.25, levels=5)
EIGHT = ControlKind("set", values=tuple(i / 7 for i in range(8)))
CONTINUOUS = ControlKind("continuous")

# name -> (pi_temp, sigma_temp, activity_temp, constraints per model name)
Setting = tuple[float, float, float, dict[str, Constraints] | None]
SETTINGS: dict[str, Setting] = {
    "plain": (1.0, 1.0, 1.0, None),
    "tempered": (0.5, 0.3, 1.0, None),
    "cold": (0.0, 0.0, 1.0, None),
    "hot": (1.5, 2.0, 1.0, None),
    "still": (1.0, 1.0, 0.0, None),
    "calm": (0.8, 0.6, 0.5, None),
    "busy": (1.0, 1.0, 2.5, None),
    "steered": (
        1.0,
        1.0,
        1.0,
        {
            "mixed": Constraints(
                ranges={0: (0.2, 0.6), 1: (0.3, 0.8)},
                holds={3: 0.5},
                control_temps={2: 0.2, 0: 3.0},
                dt_range=(0.02, 0.5),
            ),
            "knobs": Constraints(
                ranges={0: (0.4, 0.45), 2: (0.0, 0.1)},
                holds={1: 0.25},
                control_temps={3: 0.1},
            ),
        },
    ),
    "narrow": (
        0.7,
        0.5,
        1.0,
        {
            "mixed": Constraints(ranges={1: (0.5, 0.5), 3: (0.9, 1.0)}),
            "knobs": Constraints(holds={0: 0.5, 1: 0.5, 2: 0.5}),
        },
    ),
}


def _spec(name: str) -> MovesSpec:
    if name == "mixed":
        controls = (SEVEN_BIT, EIGHT, CONTINUOUS, FIVE)
        transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5, 0.5), (0.8,) + (0.3,) * 4)
        return MovesSpec(
            5, 2, 16, 4, transform, floor_weight=1e-3, controls=controls,
            patterns=(1, 2, 0, 3, 4, 5), other_patterns=True, flat_ranges=((10, 120), (0, 4)),
        )  # fmt: skip
    transform = DataTransform("log", 0.04, (-3.0,) + (0.5,) * 4, (0.8,) + (0.3,) * 4)
    return MovesSpec(
        5, 2, 16, 5, transform, controls=(SEVEN_BIT,) * 4, patterns=(1, 2, 4, 8, 0),
        other_patterns=False,
    )  # fmt: skip


def write_models() -> dict[str, Path]:
    """The two model files, each written where it is missing (delete one to write it anew)."""
    out = {}
    for seed, name in enumerate(("mixed", "knobs")):
        out[name] = HERE / f"moves-{name}.ftm"
        if out[name].exists():
            continue
        spec = _spec(name)
        rng = np.random.default_rng(40 + seed)
        weights = {
            n: (rng.standard_normal(s) * 0.5).astype(np.float32)
            for n, s in spec.tensor_shapes().items()
        }
        out[name] = save_model(HERE / f"moves-{name}.ftm", ModelFile(spec, weights, {"name": name}))
    return out


def first_event(name: str) -> np.ndarray:
    return np.array([0.05, 64 / 127, 3 / 7, 0.5, 0.5] if name == "mixed" else [0.05] + [0.5] * 4)


def played(path: Path, name: str) -> dict[str, np.ndarray]:
    """Every setting's performance, draws from one kept prediction and four voices together."""
    model: Any = load(path)
    out = {}
    for seed, (label, (pi, sigma, activity, steering)) in enumerate(SETTINGS.items()):
        constraints = None if steering is None else steering[name]
        voice = model.voice(np.random.default_rng(seed))
        event, events = first_event(name), []
        for _ in range(STEPS):
            event = voice.sample(voice.observe(event), pi, sigma, constraints, activity)
            events.append(event)
        out[label] = np.array(events)
    voice = model.voice(np.random.default_rng(99))
    kept = voice.observe(first_event(name)).copy()
    out["kept"] = np.array([voice.sample(kept, 0.9, 0.7) for _ in range(STEPS)])
    voices = [model.voice(np.random.default_rng(100 + i)) for i in range(4)]
    events = [first_event(name) for _ in voices]
    together = []
    for _ in range(STEPS // 4):
        model.step(voices, events)
        events = [v.sample(v.prediction) for v in voices]
        together.append(np.concatenate(events))
    out["together"] = np.array(together)
    return out


def main() -> None:
    for name, path in write_models().items():
        np.savez(HERE / f"moves-{name}-reference.npz", **played(path, name))


if __name__ == "__main__":
    main()
