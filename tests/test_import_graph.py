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


MAP = """# How it is built

## Layers

| layer | modules | what they hold |
|---|---|---|
| command line | `cli/` | the commands |
| services | `dashboard/`, `learn/` | beside the run |
| the run | `perform/` | the engine |
| transports | `io/` | sockets |
| the words | `events.py`, `a.py`, `b.py`, `model.py` | the vocabulary |

## Next section

| not | a layer |
|---|---|
| `perform/` | ignored |
"""


PARTS_OF_THE_MAP = {  # the map's parts, each empty; io left out where a test says so
    name: ""
    for name in (
        "foretell/cli/__init__.py",
        "foretell/dashboard/__init__.py",
        "foretell/learn/__init__.py",
        "foretell/perform/__init__.py",
        "foretell/events.py",
        "foretell/a.py",
        "foretell/b.py",
        "foretell/model.py",
    )
}


def _tree(root: Path, files: dict[str, str], layers: str = MAP) -> Path:
    for name, text in {"foretell/__init__.py": "", "docs/architecture.md": layers, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            **PARTS_OF_THE_MAP,
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


def test_imports_go_down_the_map_s_layer_table_only(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            **PARTS_OF_THE_MAP,
            "foretell/a.py": "from foretell import events\n",  # the words use each other
            "foretell/dashboard/__init__.py": "from foretell.learn import x\n",
            "foretell/learn/__init__.py": "from foretell.perform import engine\n",
            "foretell/perform/__init__.py": "",
            "foretell/perform/engine.py": "def f():\n    from foretell.cli import main\n",
            "foretell/studio/__init__.py": "from foretell.perform import engine\n",
        },
    )
    found = check_imports.problems(root)
    assert "foretell.studio is in no layer of docs/architecture.md" in found
    assert "docs/architecture.md names foretell.io, which is not in the package" in found
    assert (
        "foretell.dashboard imports foretell.learn: both are in layer 'services' in "
        "docs/architecture.md"
    ) in found
    assert (
        "foretell.perform.engine imports foretell.cli: layer 'command line' is above layer "
        "'the run' in docs/architecture.md"
    ) in found
    assert len(found) == 4, found  # learn -> perform and a -> events go down or stay in the words


def test_a_map_without_a_layer_table_is_named(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"foretell/events.py": ""}, layers="# How it is built\n")
    assert check_imports.problems(root) == [
        "docs/architecture.md: no layer table under '## Layers'"
    ]


def test_the_package_keeps_the_rules() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
