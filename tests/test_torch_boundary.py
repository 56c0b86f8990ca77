"""The performance path must never import torch (a Raspberry Pi install has none), nor must building
a training config (so the command line can start other work while torch loads)."""

import subprocess
import sys

import pytest

MODULES = [
    "foretell.model.runtime",
    "foretell.cli",
    "foretell.model.trace",
    "foretell.train.config",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom foretell.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
