"""The ``foretell`` command line: one click group, one module per area of commands.

Only this package prints or configures logging. Library code raises ``ForetellError``; ``main``
turns it into one line ``foretell: error: ...`` and exit status 1 (``--debug`` shows the traceback).
Command modules import heavy packages (torch, h5py, matplotlib) inside their functions, so
``foretell --help`` and ``foretell run`` never import torch.
"""

from __future__ import annotations

import gc
import logging
import sys

import click

from foretell import __version__
from foretell.errors import ForetellError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


def _register() -> None:
    from foretell.bench import registry
    from foretell.cli import model_commands

    registry.load_parts()
    for command in (*model_commands.COMMANDS, registry.bench):
        cli.add_command(command)
    for module_name in (
        "train_commands",
        "run_commands",
        "impsy_commands",
        "io_commands",
        "project_commands",
        "studio_commands",
    ):
        try:
            module = __import__(f"foretell.cli.{module_name}", fromlist=["COMMANDS"])
        except ModuleNotFoundError as exc:
            if exc.name != f"foretell.cli.{module_name}":
                raise
            continue
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


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
    takes 0.3 s of a 5 s training run (0.42 s to exit after ``import torch``, 0.10 s frozen,
    measured on this 2-core machine). Objects still die by reference count, logs are written a
    row per ``os.write`` and files are closed by their ``with`` blocks, so nothing is lost.
    """
    if "torch" in sys.modules:
        gc.freeze()
