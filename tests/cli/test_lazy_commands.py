"""The command line imports a command's module only when that command is named."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click

import foretell.cli
from foretell.bench.registry import bench
from foretell.cli import COMMANDS, cli


def _defined_commands() -> dict[str, click.Command]:
    """Every click command defined at the top of a ``foretell.cli`` module, by its name."""
    found: dict[str, click.Command] = {"bench": bench}
    for info in pkgutil.iter_modules(foretell.cli.__path__, "foretell.cli."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            ours = isinstance(value, click.Command) and value.callback is not None
            if ours and value.callback.__module__ == module.__name__ and value.name:
                found[value.name] = value
    return found


def test_every_command_a_module_defines_is_named_and_found() -> None:
    context = click.Context(cli)
    defined = _defined_commands()
    assert sorted(defined) == cli.list_commands(context) == sorted(COMMANDS)
    for name, command in defined.items():
        assert cli.get_command(context, name) is command
    assert cli.get_command(context, "no-such-command") is None


def test_naming_one_command_imports_only_its_module() -> None:
    code = (
        "import sys\nfrom foretell.cli import cli\n"
        "try:\n    cli.main(['train', '--help'], standalone_mode=False)\nexcept SystemExit:\n"
        "    pass\n"
        "parts = ('foretell.cli.', 'foretell.bench.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(parts)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "['foretell.cli.train_commands']"


def test_an_unknown_command_is_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "foretell", "trian"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "No such command 'trian'" in done.stderr
    assert "Traceback" not in done.stderr
