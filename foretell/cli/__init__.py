"""The ``foretell`` command line: one click group, one module per area of commands.

Only this package prints or configures logging. Library code raises ``ForetellError``; ``main``
turns it into one line ``foretell: error: ...`` and exit status 1 (``--debug`` shows the traceback).
Command modules import heavy packages (torch, h5py, matplotlib) inside their functions, so
``foretell --help`` and ``foretell run`` never import torch.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import sys

import click

from foretell import __version__
from foretell.errors import ForetellError

# Each command by name, imported only when it is run or listed: ``foretell train`` loads the
# training commands alone, not every module (docs/evaluation/choices.md, "Start-up and exit").
# A module missing from an installation drops its commands from the list.
COMMANDS = {
    "bench": "foretell.bench.registry:bench",
    "dataset": "foretell.cli.run_commands:dataset",
    "demo": "foretell.cli.train_commands:demo",
    "generate": "foretell.cli.model_commands:generate",
    "import-impsy": "foretell.cli.impsy_commands:import_impsy",
    "info": "foretell.cli.model_commands:info",
    "init": "foretell.cli.project_commands:init",
    "ports": "foretell.cli.io_commands:ports",
    "run": "foretell.cli.run_commands:run",
    "studio": "foretell.cli.studio_commands:studio",
    "trace": "foretell.cli.model_commands:trace",
    "train": "foretell.cli.train_commands:train",
}


class LazyGroup(click.Group):
    """A group whose commands (``COMMANDS``) are imported when they are named."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, where in COMMANDS.items() if _installed(where))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None or not _installed(where):
            return None
        module_name, attribute = where.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command


def _installed(where: str) -> bool:
    return importlib.util.find_spec(where.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="foretell")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """foretell: a model that learns how you play and answers in time."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if debug else "foretell: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    """Console entry point: run the group, mapping domain errors to one line and exit 1."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except ForetellError as exc:
        if debug:
            raise
        click.echo(f"foretell: error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("foretell: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    finally:
        _spare_the_final_sweep()


def _spare_the_final_sweep() -> None:
    """Freeze the collector's view when torch is loaded: the process ends next.

    Interpreter shutdown sweeps every tracked object for cycles; with torch imported that sweep
    is a noticeable share of a short training run (docs/evaluation/choices.md, "Start-up and
    exit"). Objects still die by reference count, logs are written a
    row per ``os.write`` and files are closed by their ``with`` blocks, so nothing is lost.
    """
    if "torch" in sys.modules:
        gc.freeze()
