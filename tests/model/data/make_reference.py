"""Write the files ``tests/model/test_compatibility.py`` compares against, with the foretell that
runs this script. They were written by the code before the model seam (main at 99279af), so the
test holds today's code to what that code played; rerun only to take a deliberate change:

    /work/main/.venv/bin/python tests/model/data/make_reference.py

It writes two small model files (a foretell-trained kind: softplus, log dt; an IMPSY-style one:
elu+1, IMPSY's x10 scale and dt floor), then for each what it plays and scores: ``foretell
generate`` CSVs, full-precision generated and steered performances, trace NLLs plain and under
constraints. With IMPSY's shipped models present (``/work/shared/data/impsy-models``) it also
writes what the imported dim-4 model generates.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from foretell.cli import cli
from foretell.model.constraints import Constraints
from foretell.model.fileformat import load_model, save_model
from foretell.model.random import random_model
from foretell.model.transform import DataTransform

HERE = Path(__file__).resolve().parent
IMPSY_MODELS = Path("/work/shared/data/impsy-models")
IMPSY_DIM4 = "musicMDRNN-dim4-layers2-units64-mixtures5-scale10.h5"
STEERED = Constraints(ranges={0: (0.2, 0.6)}, holds={1: 0.5}, dt_range=(0.02, 0.5))
GENERATE = (("plain", []), ("tempered", ["--pi-temp", "0.5", "--sigma-temp", "0.3"]))
STEPS = 300


def write_models() -> dict[str, Path]:
    dense = random_model(dimension=4, units=16, layers=2, mixtures=5, seed=7)
    impsy_transform = dataclasses.replace(DataTransform.scaled(4, 10.0), dt_min=0.000454)
    impsy_like = random_model(dimension=4, units=16, layers=2, mixtures=5, seed=8)
    impsy_like = dataclasses.replace(
        impsy_like,
        spec=dataclasses.replace(
            impsy_like.spec,
            transform=impsy_transform,
            sigma_activation="elu1",
            sigma_min=1e-7,
            floor_weight=0.0,
            floor_sigma=1.0,
        ),
    )
    return {
        "dense": save_model(HERE / "dense-before-kinds.ftm", dense),
        "impsy": save_model(HERE / "impsy-style-before-kinds.ftm", impsy_like),
    }


def generate_csv(model: Path, out: Path, seed: int, options: list[str]) -> None:
    args = ["generate", str(model), "--steps", str(STEPS), "--seed", str(seed), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, *options])
    assert result.exit_code == 0, result.output


def played_and_scored(model: Path) -> dict[str, np.ndarray]:
    """With the runtime API of the code before the seam (``Runtime.predict`` gave raw output)."""
    from foretell.model.generate import generate_performance
    from foretell.model.runtime import Runtime
    from foretell.model.trace import trace_performance

    file = load_model(model)
    generated = generate_performance(Runtime(file, np.random.default_rng(21)), STEPS, 0.8, 0.6)
    steered_runtime = Runtime(file, np.random.default_rng(22))
    event, steered = np.array([0.05, 0.5, 0.5, 0.5]), []
    for _ in range(STEPS):
        event = steered_runtime.sample(steered_runtime.predict(event), 1.0, 1.0, STEERED)
        steered.append(event)
    scorer = Runtime(file, np.random.default_rng(0))
    raw, nll = trace_performance(scorer, generated)
    _, steered_nll = trace_performance(scorer, np.array(steered), STEERED)
    return {
        "generated": generated,
        "steered": np.array(steered),
        "raw": raw,
        "nll": nll,
        "steered_nll": steered_nll,
    }


def main() -> None:
    for name, path in write_models().items():
        for seed, (label, options) in enumerate(GENERATE, start=11):
            generate_csv(path, HERE / f"{name}-{label}.csv", seed, options)
        np.savez(HERE / f"{name}-reference.npz", **played_and_scored(path))
    if (IMPSY_MODELS / IMPSY_DIM4).is_file():
        from foretell.impsy.keras_import import import_impsy_model

        imported = save_model(
            HERE / "imported.ftm.tmp", import_impsy_model(IMPSY_MODELS / IMPSY_DIM4).model
        )
        generate_csv(imported, HERE / "impsy-dim4-plain.csv", 11, [])
        imported.unlink()
    else:
        print(f"{IMPSY_MODELS / IMPSY_DIM4} is absent: no IMPSY reference", file=sys.stderr)


if __name__ == "__main__":
    main()
