"""scripts/demo.sh and scripts/test.sh install foretell in place without setuptools' "Editable
installation" banner: each script's own pip line (its interpreter flags as written) installs a
copy of this package (no dependencies, no network) and must print nothing."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("demo.sh", "test.sh")


def _install_line(script: str) -> list[str]:
    lines = (ROOT / "scripts" / script).read_text().splitlines()
    found = [shlex.split(line) for line in lines if "pip install -q -e" in line]
    assert len(found) == 1, f"{script}: one in-place install, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_scripts_install_in_place_quietly(script: str, tmp_path: Path) -> None:
    line = _install_line(script)
    flags = line[1 : line.index("-m")]  # what the script gives the interpreter before -m pip
    copy = tmp_path / "foretell"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(
        ROOT / "foretell", copy / "foretell", ignore=shutil.ignore_patterns("__pycache__")
    )
    command = [sys.executable, *flags, "-m", "pip", "install", "-q", "-e", str(copy)]
    # --ignore-installed: into the prefix only; without it pip would first uninstall the
    # foretell this interpreter runs (a --prefix does not keep it from doing so)
    command += ["--no-deps", "--no-build-isolation", "--ignore-installed"]
    command += ["--prefix", str(tmp_path / "prefix")]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=300)
    still = subprocess.run(
        [sys.executable, "-c", "import foretell; print(foretell.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path / "prefix",  # not beside the copy, which would be found first
    )
    assert still.stdout.strip() == str(ROOT / "foretell" / "__init__.py"), still.stderr
    assert ran.returncode == 0, ran.stderr
    assert "Editable installation" not in ran.stderr, ran.stderr
    assert ran.stdout.strip() == "" and ran.stderr.strip() == "", ran.stderr
