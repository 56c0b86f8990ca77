"""How to install an optional extra (``train``, ``impsy``) into the foretell that is running.

A clone installed in place (``pip install -e``) gets its extra from the clone:
``PYTHON -m pip install -e 'CLONE[train]'``. Anything else (a wheel) is not on a package index
under the name foretell, so the hint names the extra's own requirements, read from the installed
package's metadata: ``PYTHON -m pip install 'torch>=2.13,<2.14' ...``. ``PYTHON`` is the very
interpreter running foretell, so the packages land where foretell will find them.
"""

from __future__ import annotations

import shlex
import sys
from importlib import metadata
from pathlib import Path

PACKAGE = "foretell"
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # a clone's root, if foretell runs from one


def install_hint(extra: str, root: Path = SOURCE_ROOT) -> str:
    """The command that installs ``extra`` for this foretell (``root``: where it runs from)."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    if (root / "pyproject.toml").is_file():
        return f"{pip} -e {shlex.quote(f'{root}[{extra}]')}"
    needs = extra_requirements(extra)
    if not needs:
        return f"{pip} the {extra} extra's packages (see foretell's pyproject.toml)"
    return f"{pip} {' '.join(shlex.quote(need) for need in needs)}"


def extra_requirements(extra: str) -> list[str]:
    """The requirements ``extra`` adds, as the installed package's metadata lists them."""
    try:
        listed = metadata.requires(PACKAGE) or []
    except metadata.PackageNotFoundError:
        return []
    wanted = f'extra == "{extra}"'
    found = []
    for need in listed:
        requirement, _, marker = need.partition(";")
        if marker.strip().replace("'", '"') == wanted:
            found.append(requirement.strip())
    return found
