"""``foretell import-impsy``: an IMPSY model (Keras or TensorFlow Lite) as a foretell model."""

from __future__ import annotations

from pathlib import Path

import click

from foretell.errors import ImportModelError
from foretell.events import controls_of
from foretell.impsy.keras_import import ImportedModel, import_impsy_model
from foretell.model.fileformat import save_model
from foretell.names import MODEL_SUFFIX


def _report(imported: ImportedModel, source: Path, out: Path) -> None:
    spec = imported.model.spec
    arch = imported.architecture
    click.echo(f"imported {source.name}: {imported.layout}")
    click.echo(f"  architecture from {arch.source}")
    click.echo(
        f"  MDRNN: dimension {spec.dimension} (dt + {controls_of(spec.dimension)} controls), "
        f"{spec.layers} x {spec.units} LSTM, {spec.mixtures} mixtures, "
        f"{spec.parameter_count():,} parameters"
    )
    click.echo(f"  inputs and outputs scaled by {imported.scale:g} (from {imported.scale_source})")
    for note in imported.notes:
        click.echo(f"  note: {note}")
    click.echo(f"wrote {out}")


@click.command("import-impsy")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), help="Model file to write [default: MODEL.ftm]."
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    help="IMPSY's SCALE_FACTOR [default: from the file name, else 10].",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def import_impsy(model: Path, out: Path | None, scale: float | None, force: bool) -> None:
    """Import an IMPSY model (.keras, .h5 or builtins-only .tflite) as a foretell model file;
    no TensorFlow needed."""
    imported = import_impsy_model(model, scale=scale)
    out = out if out is not None else model.with_suffix(MODEL_SUFFIX)
    if out.exists() and not force:
        raise ImportModelError(f"{out} already exists; pass --force to overwrite it")
    save_model(out, imported.model)
    _report(imported, model, out)
