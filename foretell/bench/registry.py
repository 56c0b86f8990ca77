"""The ``foretell bench`` group: each benchmark module registers its command here, and the CLI
adds the group (library code never imports ``foretell.cli``). Benchmarks measure, never assert."""

from __future__ import annotations

import click


class _Benchmarks(click.Group):
    """The group, its parts imported the first time a benchmark is listed or named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_parts()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        load_parts()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Benchmarks)
def bench() -> None:
    """Measure speed, timing and quality on this machine."""


def register(command: click.Command) -> click.Command:
    """Add a benchmark subcommand (used as a decorator by each bench module)."""
    bench.add_command(command)
    return command


def load_parts() -> None:
    """Import every benchmark module (each registers itself); later calls find them imported."""
    modules = (
        "predict",
        "train",
        "generalise",
        "fidelity",
        "live",
        "ensemble",
        "temperatures",
        "quality",
        "evaluation",
        "fuzz",
        "impsy_configs",
        "studio",
        "stall",
        "frames",
    )
    for module_name in modules:
        try:
            __import__(f"foretell.bench.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"foretell.bench.{module_name}":
                raise
