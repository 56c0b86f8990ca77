"""``foretell init``: a project folder for one instrument (``foretell.project.layout``)."""

from __future__ import annotations

from pathlib import Path

import click

from foretell.cli.run_commands import dimension_of, size_options
from foretell.config import MAX_DIMENSION


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@size_options("Number of controls your instrument sends (asked for when neither is given).")
def init(folder: Path, controls: int | None, dimension: int | None) -> None:
    """Make FOLDER a project: foretell.toml, logs/, datasets/ and models/ (nothing overwritten)."""
    from foretell.project.layout import FOLDERS, init_project

    chosen = dimension_of(controls, dimension)
    if chosen is None:
        asked = click.prompt(
            "How many controls does your instrument send (values per /interface message)?",
            type=click.IntRange(1, MAX_DIMENSION - 1),
            err=True,
        )
        chosen = asked + 1
    project = init_project(folder, chosen)
    click.echo(f"foretell: made {project.root}/ for {chosen - 1} controls:", err=True)
    click.echo(f"foretell:   {project.config.name}, {'/, '.join(FOLDERS)}/", err=True)
    click.echo(
        f"foretell: record, train and perform in a browser: foretell studio {project.root}",
        err=True,
    )
    click.echo(f"foretell: or play into it: foretell run --config {project.config}", err=True)
