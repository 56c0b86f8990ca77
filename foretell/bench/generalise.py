"""``foretell bench generalise``: training's defaults on instruments unlike the LightPad.

Each synthetic instrument (``foretell.bench.instruments``: 1 to 8 controls, 10k to 100k events,
smooth, quantised, beat-grid and fixed-rate rhythms) is drawn, its test set held out as
``foretell bench train`` holds it out, and ``foretell train`` run with its defaults in a fresh
process on the rest. The saved model is scored on the test set beside the baselines of
``foretell bench quality`` (iid, repeat, ar1, var1), fitted on the same training data in the
model's own space: a model that does not beat them all has learnt nothing the defaults should
have found. This measures; it asserts nothing.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from foretell.bench.evaluation_setup import load_average
from foretell.bench.harness import machine
from foretell.bench.instruments import INSTRUMENTS
from foretell.bench.registry import register
from foretell.bench.train import test_score, timed_train
from foretell.data.dataset import save_dataset
from foretell.errors import ConfigError
from foretell.train.batches import split_test


def baseline_scores(model_path: Path, train: list[Any], test: list[Any]) -> dict[str, float]:
    """Test NLL of each baseline, fitted on ``train`` in the saved model's space."""
    from foretell.bench.quality import baseline_nll, fit_baselines
    from foretell.model.fileformat import load_model

    spec = load_model(model_path).spec
    fitted = fit_baselines(train, spec.transform, spec)
    return {name: round(baseline_nll(b, test)["mean_nll"], 4) for name, b in fitted.items()}


def bench_instrument(name: str, size: str, seed: int, scale: float) -> dict[str, Any]:
    """Draw ``name``'s data, train on its trainable part, score model and baselines on test."""
    dataset = INSTRUMENTS[name].dataset(seed, scale)
    split = split_test(dataset)
    trainable = list(split.trainable.performances)
    with tempfile.TemporaryDirectory(prefix="foretell-bench-generalise-") as tmp:
        data, model = Path(tmp) / f"{name}.npz", Path(tmp) / f"{name}.ftm"
        save_dataset(data, trainable)
        timed = timed_train(data, model, size, seed)
        scored = test_score(model, split)
        baselines = baseline_scores(model, trainable, list(split.test))
    best_name = min(baselines, key=baselines.__getitem__)
    return {
        "instrument": name,
        "controls": dataset.dimension - 1,
        "events": dataset.events,
        "size": size,
        **{key: value for key, value in timed.items() if key != "model"},  # a deleted file
        **scored,
        "baselines": baselines,
        "best_baseline": best_name,
        "margin_nats": round(baselines[best_name] - scored["test_nll"], 4),
    }


def describe(run: dict[str, Any]) -> str:
    """One line: what the instrument is, what training cost and how it scored."""
    return (
        f"{run['instrument']} ({run['controls']} control{'s' * (run['controls'] > 1)}, "
        f"{run['events']} events): {run['wall_seconds']:.1f} s wall, {run['epochs_run']} epochs "
        f"(best {run['best_epoch']}, {run['stopped']}); test NLL {run['test_nll']:.3f}, best "
        f"baseline {run['best_baseline']} {run['baselines'][run['best_baseline']]:.3f} "
        f"({abs(run['margin_nats']):.2f} nats/event "
        f"{'better' if run['margin_nats'] >= 0 else 'WORSE'})"
    )


def chosen_instruments(names: str) -> list[str]:
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in INSTRUMENTS]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown instrument {unknown[:1]} (choose from {', '.join(INSTRUMENTS)})"
        )
    return chosen


@register
@click.command("generalise")
@click.option(
    "--instruments",
    default=",".join(INSTRUMENTS),
    show_default=True,
    help="Comma-separated synthetic instruments to train on.",
)
@click.option("--size", default="s", show_default=True, help="Size preset to train.")
@click.option("--seed", default=0, show_default=True, type=int, help="Data and training seed.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 10.0),
    help="Times each instrument's events (fader 10k, pads 30k, knobs 50k, sensors 100k).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def generalise(instruments: str, size: str, seed: int, scale: float, as_json: bool) -> None:
    """Train with the defaults on synthetic instruments unlike the LightPad; score each model
    on held-out data against simple baselines."""
    runs = [bench_instrument(name, size, seed, scale) for name in chosen_instruments(instruments)]
    result = {
        "seed": seed,
        "scale": scale,
        "machine": {**machine(), "load_average": load_average()},
        "runs": runs,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    for run in runs:
        click.echo(describe(run))
