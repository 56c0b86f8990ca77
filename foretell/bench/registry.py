"""The ``foretell bench`` group: each benchmark module registers its command here, and the CLI
adds the group (library code never imports ``foretell.cli``). Benchmarks measure, never assert."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure speed, timing and quality on this machine."""


def register(command: click.Command) -> click.Command:
    """Add a benchmark subcommand (used as a decorator by each bench module)."""
    bench.add_command(command)
    return command


def load_parts() -> None:
    """Import every benchmark module (each registers itself); the CLI calls this once."""
    modules = (
        "predict",
        "train",
        "generalise",
        "live",
        "ensemble",
        "temperatures",
        "quality",
        "evaluation",
        "fuzz",
        "impsy_configs",
        "studio",
    )
    for module_name in modules:
        try:
            __import__(f"foretell.bench.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"foretell.bench.{module_name}":
                raise
