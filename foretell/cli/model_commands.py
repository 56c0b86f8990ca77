"""``foretell info``, ``trace`` and ``generate``: look at, score and play a model file."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from foretell.commands import parse_command
from foretell.data.logs_to_dataset import load_data
from foretell.errors import ConfigError, ControlError
from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelSpec, load_model, read_metadata
from foretell.model.generate import generate_performance, write_performance_csv
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import Voice, load, load_voice
from foretell.model.trace import basis_kinds, trace_dataset
from foretell.perform import steering


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as one JSON object.")
def info(model: Path, as_json: bool) -> None:
    """Print a model file's metadata and parameter count."""
    loaded = load_model(model)
    meta = read_metadata(model)
    spec = loaded.spec
    summary = {
        "file": str(model),
        "foretell_version": meta.get("foretell_version"),
        "format_version": meta.get("format_version"),
        "created": meta.get("created"),
        "kind": spec.kind,
        "parameters": spec.parameter_count(),
        **spec.to_dict(),
        "info": loaded.info,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"{model}  (format v{meta.get('format_version')}, foretell {meta.get('foretell_version')})"
    )
    if isinstance(spec, ModelSpec):
        _echo_dense(spec)
    else:
        click.echo(
            f"  {spec.kind}: dimension {spec.dimension}, {spec.parameter_count():,} parameters"
        )
        click.echo(f"  architecture: {json.dumps(spec.to_dict())}")
    for key, value in loaded.info.items():
        click.echo(f"  {key}: {json.dumps(value) if isinstance(value, dict | list) else value}")


def _echo_dense(spec: ModelSpec) -> None:
    t = spec.transform
    click.echo(
        f"  {'MDRNN' if spec.layout is None else 'MDRNN, moves'}: dimension {spec.dimension}, "
        f"{spec.layers} x {spec.units} LSTM, "
        f"{spec.mixtures} mixtures, {spec.parameter_count():,} parameters"
    )
    click.echo(f"  dt transform: {t.dt_kind} (offset {t.dt_offset:g} s), min dt {t.dt_min:g} s")
    click.echo(f"  sigma: {spec.sigma_activation}, floor weight {spec.floor_weight:g}")
    layout = spec.layout
    if layout is not None:  # a moves model: its controls' kinds and moving sets
        kinds = ", ".join(
            f"x{i + 1} {k.kind}" + (f" ({k.cells} values)" if k.discrete else "")
            for i, k in enumerate(layout.controls)
        )
        click.echo(f"  moves: {kinds}; {len(layout.patterns)} moving sets named{_inputs(spec)}")


def _inputs(spec: ModelSpec) -> str:
    """How a moves model's grid controls are centred and read, where not as the first did."""
    if not isinstance(spec, MovesSpec):
        return ""
    shown = []
    if spec.relative_grids:
        where = " where the control did not just move" if spec.relative_gated else ""
        shown.append(f"grid centres relative{where}")
    if spec.step_inputs:
        shown.append("reads each grid control's step")
    return "".join(f"; {part}" for part in shown)


def constraints_from_flags(
    holds: tuple[str, ...], ranges: tuple[str, ...], dtrange: str | None, controls: int
) -> Constraints:
    """``--hold I=V``, ``--range I=LO:HI``, ``--dtrange LO:HI`` as constraints, each checked as
    its OSC verb is (``ConfigError`` naming the flag)."""
    commands: list[tuple[str, str, list[object]]] = []
    try:
        for text in holds:
            index, value = text.split("=")
            commands.append(("--hold", "hold", [float(index), float(value)]))
        for text in ranges:
            index, bounds = text.split("=")
            low, high = bounds.split(":")
            commands.append(("--range", "range", [float(index), float(low), float(high)]))
        if dtrange is not None:
            low, high = dtrange.split(":")
            commands.append(("--dtrange", "dtrange", [float(low), float(high)]))
    except ValueError:
        raise ConfigError("--hold takes I=V, --range I=LO:HI and --dtrange LO:HI") from None
    constraints = Constraints()
    for flag, verb, args in commands:
        try:
            command = parse_command(verb, args)
            constraints = steering.apply(constraints, command, controls)  # type: ignore[arg-type]
        except ControlError as exc:
            raise ConfigError(f"{flag}: {exc}") from None
    return constraints


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Write raw outputs and NLLs (.npz).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--clip", is_flag=True, help="Clip out-of-range controls instead of refusing.")
@click.option(
    "--hold", "holds", multiple=True, metavar="I=V", help="Score with control I held at V."
)
@click.option(
    "--range", "ranges", multiple=True, metavar="I=LO:HI", help="Score with control I in [LO, HI]."
)
@click.option("--dtrange", metavar="LO:HI", help="Score with the interval in [LO, HI] seconds.")
@click.option(
    "--basis",
    type=click.Choice(["auto", "cells", "density"]),
    default="auto",
    show_default=True,
    help="How grid and set controls are scored: cells (the probability of the value's cell, "
    "comparable between dense and moves models), density (a dense model's density); auto: "
    "cells for a moves model, density for a dense one.",
)
@click.option(
    "--cells-from",
    type=click.Path(path_type=Path),
    help="With --basis cells: take the grids and sets from this moves model (default: "
    "detected in DATA).",
)
def trace(
    model: Path,
    data: Path,
    out: Path | None,
    as_json: bool,
    clip: bool,
    holds: tuple[str, ...],
    ranges: tuple[str, ...],
    dtrange: str | None,
    basis: str,
    cells_from: Path | None,
) -> None:
    """Score every next event of DATA (.npz, or performance logs: a log file or a folder of
    them, the performer's rows) under MODEL, one step at a time from a fresh state.

    With --hold/--range/--dtrange the NLL is that of the constrained model (held controls
    conditioned on, ranges truncated; a normalised density), and events outside a range are
    counted apart."""
    runtime = load_voice(model)
    dataset = load_data(data, clip=clip)
    constraints = constraints_from_flags(holds, ranges, dtrange, runtime.model.dimension - 1)
    reference = load(cells_from) if cells_from is not None else None
    cells = basis_kinds(runtime.model, dataset, basis, reference)
    result = trace_dataset(runtime, dataset, constraints, cells)
    if out is not None:
        result.save(out)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"{summary['events']} events scored over {summary['performances']} performances: "
            f"mean NLL {summary['mean_nll']:.4f} nats/event (data space, "
            f"{summary['nll_basis']} basis)"
            + (f"; {summary['outside']} outside the constraints" if summary["outside"] else "")
        )


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--steps", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--pi-temp", default=1.0, show_default=True, type=click.FloatRange(0))
@click.option("--sigma-temp", default=1.0, show_default=True, type=click.FloatRange(0))
@click.option(
    "--activity-temp",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How many controls a moves model moves (0: its likeliest moving set).",
)
@click.option("--seed", type=int, help="Seed for a reproducible performance.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="CSV to write.")
def generate(
    model: Path,
    steps: int,
    pi_temp: float,
    sigma_temp: float,
    activity_temp: float,
    seed: int | None,
    out: Path,
) -> None:
    """Let MODEL play by itself (fed its own samples) and write the performance as CSV."""
    runtime: Voice = load_voice(model, seed=seed)
    performance = generate_performance(
        runtime, steps, pi_temp, sigma_temp, activity_temp=activity_temp
    )
    write_performance_csv(out, performance)
    click.echo(
        f"wrote {len(performance)} events ({float(np.sum(performance[:, 0])):.1f} s) to {out}"
    )
