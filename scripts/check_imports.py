"""The import graph of foretell, checked against the map: the layer table of
docs/architecture.md (its ``## Layers`` section, top layer first) names every top-level part of
the package (``cli/``, ``perform/``, ``events.py``, ...) in exactly one layer, and a part imports
only from the layers beneath its own (parts of the bottom layer, the words, also from each other).
No cycles between modules (imports inside functions and under ``TYPE_CHECKING`` count too) nor
between the parts.

Run ``python scripts/check_imports.py``: one line per broken rule, exit status 1 if any."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "foretell"
ENTRY_POINTS = {"foretell.__main__"}  # ``python -m foretell`` starts the command line
MAP = Path("docs") / "architecture.md"
LAYERS_HEADING = "## Layers"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(tree: ast.AST, name: str, is_package: bool) -> Iterator[str]:
    """Every foretell module ``tree`` (the module ``name``) imports, at any depth."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph(root: Path) -> dict[str, set[str]]:
    """Module -> the foretell modules it imports (names that are modules or packages)."""
    files = {module_name(p, root): p for p in (root / PACKAGE).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = imported(tree, name, path.name == "__init__.py")
        edges[name] = {t for t in targets if t in files and t != name and t.startswith(PACKAGE)}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def part(module: str) -> str:
    """The top-level part of ``module``: ``foretell.io.osc`` -> ``foretell.io``."""
    return ".".join(module.split(".")[:2])


def parts(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between top-level parts (the package's own ``__init__`` left out)."""
    between: dict[str, set[str]] = {}
    for importer, targets in edges.items():
        for target in targets:
            if PACKAGE not in (importer, target) and part(importer) != part(target):
                between.setdefault(part(importer), set()).add(part(target))
    return between


def layer_table(text: str) -> list[tuple[str, list[str]]]:
    """The rows of the map's layer table, top first: (layer, its parts), ``cli/`` read as
    ``foretell.cli`` and ``events.py`` as ``foretell.events``; empty where there is no table."""
    _, heading, rest = text.partition(LAYERS_HEADING + "\n")
    rows = []
    started = False
    for line in rest.splitlines() if heading else []:
        if not line.startswith("|"):
            if started:
                break
            continue
        started = True
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= {"-", ":", " "} or cells[0] == "layer":
            continue
        names = re.findall(r"`([^`]+)`", cells[1])
        rows.append(
            (cells[0], [f"{PACKAGE}." + n.removesuffix("/").removesuffix(".py") for n in names])
        )
    return rows


def layer_problems(root: Path, edges: dict[str, set[str]]) -> list[str]:
    """Every part in one layer of the map, and every import between parts going down."""
    path = root / MAP
    table = layer_table(path.read_text(encoding="utf-8")) if path.exists() else []
    if not table:
        return [f"{MAP}: no layer table under '{LAYERS_HEADING}'"]
    depth: dict[str, int] = {}
    lines = []
    for level, (_, names) in enumerate(table):
        for name in names:
            if name in depth:
                lines.append(f"{MAP}: {name} is in two layers")
            depth[name] = level
    present = {part(m) for m in edges if m != PACKAGE and m not in ENTRY_POINTS}
    lines += [f"{name} is in no layer of {MAP}" for name in sorted(present - depth.keys())]
    lines += [
        f"{MAP} names {name}, which is not in the package"
        for name in sorted(depth.keys() - present)
    ]
    bottom = len(table) - 1
    for importer, targets in sorted(edges.items()):
        if importer in ENTRY_POINTS:
            continue
        for target in sorted(targets):
            here, there = part(importer), part(target)
            if PACKAGE in (here, there) or here == there or not {here, there} <= depth.keys():
                continue
            mine, theirs = depth[here], depth[there]
            if theirs < mine:
                why = f"layer '{table[theirs][0]}' is above layer '{table[mine][0]}'"
            elif theirs == mine and mine != bottom:
                why = f"both are in layer '{table[mine][0]}'"
            else:
                continue
            lines.append(f"{importer} imports {target}: {why} in {MAP}")
    return lines


def problems(root: Path) -> list[str]:
    edges = graph(root)
    lines = [f"import cycle: {' <-> '.join(group)}" for group in cycles(edges)]
    lines += [f"cycle between parts: {' <-> '.join(group)}" for group in cycles(parts(edges))]
    return lines + layer_problems(root, edges)


def main() -> int:
    found = problems(Path(__file__).resolve().parents[1])
    for line in found:
        print(line)
    if not found:
        print(f"imports: no cycles; every part imports only from the layers beneath it ({MAP})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
