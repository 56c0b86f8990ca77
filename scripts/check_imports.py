"""The import graph of foretell, checked: no cycles between modules (imports inside functions
and under ``TYPE_CHECKING`` count too) nor between the top-level parts (``foretell.io``,
``foretell.config``, ``foretell.events``, ...), ``foretell.io`` never imports ``foretell.perform``,
and no library module imports ``foretell.cli`` (the command line sits on top, nothing on it).

Run ``python scripts/check_imports.py``: one line per broken rule, exit status 1 if any."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "foretell"
ENTRY_POINTS = {"foretell.__main__"}  # ``python -m foretell`` starts the command line
FORBIDDEN = (  # (importer prefix, imported prefix, why)
    ("foretell.io", "foretell.perform", "transports sit below the engine"),
    ("foretell.", "foretell.cli", "library code never imports the command line"),
)


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


def problems(root: Path) -> list[str]:
    edges = graph(root)
    lines = [f"import cycle: {' <-> '.join(group)}" for group in cycles(edges)]
    lines += [f"cycle between parts: {' <-> '.join(group)}" for group in cycles(parts(edges))]
    for importer, targets in sorted(edges.items()):
        for target in sorted(targets):
            for source, sink, why in FORBIDDEN:
                inside = importer.startswith(source) and not importer.startswith(sink)
                inside = inside and importer not in ENTRY_POINTS
                if inside and (target == sink or target.startswith(sink + ".")):
                    lines.append(f"{importer} imports {target}: {why}")
    return lines


def main() -> int:
    found = problems(Path(__file__).resolve().parents[1])
    for line in found:
        print(line)
    if not found:
        print("imports: no cycles, io does not import perform, nothing imports cli")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
