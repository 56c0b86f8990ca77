"""scripts/check_imports.py: the import rules CI holds the package to, on small made-up trees."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "check_imports.py"
spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
assert spec is not None and spec.loader is not None
check_imports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_imports)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"foretell/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "foretell/events.py": "",
            "foretell/io/__init__.py": "",
            "foretell/io/osc.py": "from foretell.events import Event\n",
            "foretell/perform/__init__.py": "",
            "foretell/perform/engine.py": "from foretell.io import osc\n",
        },
    )
    assert check_imports.problems(root) == []


def test_a_lazy_cycle_and_the_forbidden_directions_are_named(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "foretell/a.py": "def f():\n    from foretell.b import g\n",
            "foretell/b.py": "from foretell import a\n",
            "foretell/io/__init__.py": "",
            "foretell/io/osc.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from foretell.perform.engine import Engine\n"
            ),
            "foretell/perform/__init__.py": "",
            "foretell/perform/engine.py": "from .helpers import x\n",
            "foretell/perform/helpers.py": "from foretell.io.osc import y\n",
            "foretell/cli/__init__.py": "",
            "foretell/model.py": "import foretell.cli\n",
        },
    )
    found = check_imports.problems(root)
    assert "import cycle: foretell.a <-> foretell.b" in found
    assert "cycle between parts: foretell.io <-> foretell.perform" in found
    assert any(line.startswith("foretell.io.osc imports foretell.perform.engine") for line in found)
    assert any(line.startswith("foretell.model imports foretell.cli") for line in found)


def test_the_package_keeps_the_rules() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
