"""A missing extra's hint fits how foretell was installed: this clone, installed in place, gets
``pip install -e 'CLONE[extra]'``; a wheel (no clone beside it) gets the extra's own packages,
read from the installed metadata (foretell is on no package index)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from foretell.install import extra_requirements, install_hint

CLONE = Path(__file__).resolve().parents[2]
BLOCK_TORCH = "import sys; sys.modules['torch'] = None; from foretell.cli import main; main()"


def test_a_clone_gets_its_own_extra_through_this_interpreter() -> None:
    hint = install_hint("train")
    assert shlex.split(hint) == [sys.executable, "-m", "pip", "install", "-e", f"{CLONE}[train]"]
    assert "foretell[train]" not in shlex.split(hint)  # the package is on no index


def test_a_wheel_gets_the_packages_the_extra_lists(tmp_path: Path) -> None:
    hint = shlex.split(install_hint("impsy", root=tmp_path))  # no pyproject.toml: not a clone
    assert hint[:4] == [sys.executable, "-m", "pip", "install"]
    assert hint[4:] == extra_requirements("impsy") and any(h.startswith("h5py") for h in hint)
    assert all(h.startswith(("torch", "matplotlib")) for h in extra_requirements("train"))


def test_training_without_torch_says_how_to_install_it_here(tmp_path: Path) -> None:
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    ran = subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH, "train", str(data), "--out", str(tmp_path / "m.ftm")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1, ran.stderr
    line = ran.stderr.strip()
    assert "\n" not in line and line.endswith(install_hint("train")), line
