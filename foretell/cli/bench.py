"""``foretell bench``: benchmarks that measure, never assert (parts in ``foretell.bench``)."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure speed, timing and quality on this machine."""


def register(command: click.Command) -> click.Command:
    """Add a benchmark subcommand (used as a decorator by each bench module)."""
    bench.add_command(command)
    return command


def _load_parts() -> None:
    modules = (
        "predict",
        "train",
        "live",
        "ensemble",
        "temperatures",
        "quality",
        "evaluation",
        "fuzz",
    )
    for module_name in modules:
        try:
            __import__(f"foretell.bench.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"foretell.bench.{module_name}":
                raise


_load_parts()
