"""``foretell studio [DIR]``: a project's engine, with the studio's page and API beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from foretell.cli.io_commands import apply_transport_flags, transport_flags
from foretell.cli.run_commands import (
    build_config,
    playing_options,
    raise_priority,
    say_started,
    say_stopped,
)
from foretell.config import override
from foretell.errors import ConfigError
from foretell.project.layout import open_project

DEFAULT_PORT = 8765


@click.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Serve the page on this port (0: any free one, printed).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Serve the page on this address; 0.0.0.0 serves the LAN, with a per-run token.",
)
@playing_options
def studio(
    folder: Path | None,
    port: int,
    host: str,
    realtime: bool,
    **playing: Any,
) -> None:
    """Record takes, build datasets, train, compare and perform from a browser: the project in
    FOLDER (default: this folder) played with its foretell.toml, the options overriding it."""
    project = open_project(folder if folder is not None else Path.cwd())
    transports = transport_flags(playing)
    config = build_config(
        project.config,
        log_dir=project.folder("logs"),
        models_dir=project.folder("models"),
        **playing,
    )
    if config.instrument:
        raise ConfigError(
            "foretell studio plays one instrument; this config has an ensemble "
            "([[instrument]]): run it with foretell run --config"
        )
    config = override(config, "log", enabled=True)
    config = apply_transport_flags(config, transports)
    if realtime:
        click.echo(f"foretell: running at {raise_priority()}", err=True)
    from foretell.perform.show_loop import ShowLoop
    from foretell.run import Page, run
    from foretell.studio.api import Studio

    page = Page(
        host,
        port,
        project.folder("models").resolve(),
        parts=lambda engine: Studio(project, engine, ShowLoop.here()),
        name="studio",
        path="studio/",
        moved_by="--port PORT",
    )
    say_stopped(run(config, page, on_start=say_started))
