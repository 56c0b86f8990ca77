"""matplotlib without a display: the Agg backend, imported only when a picture is wanted.

Pictures are extras (loss curves, demo plots): without matplotlib (the base install has none)
``pyplot_or_none`` logs one line and returns ``None``, and the caller skips the picture.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def pyplot_or_none(what: str) -> Any | None:
    """``matplotlib.pyplot`` on the Agg backend, or ``None`` (logged) when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        log.warning("matplotlib is not installed: wrote no %s", what)
        return None
    return pyplot


def save_figure(pyplot: Any, fig: Any, path: Path, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (making its folder), close it, and return the path."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot.close(fig)
    return path
