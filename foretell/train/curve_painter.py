"""The loss-curve picture drawn by a child process that loads matplotlib while torch loads.

``foretell train`` imports torch on one core (1.2 s) before it trains, and pyplot (0.45 s) only
after, on the way to exit. ``CurvePainter`` starts a child first: it imports pyplot on the other
core meanwhile and waits on its stdin for the curves (``Curves`` as JSON), so after the model is
saved only the drawing itself (0.12 s) is left to wait for. The child is in its own session, so
Ctrl-C in the terminal reaches only the trainer (which keeps its best model and still asks for
the picture), and it exits when its stdin closes, so it cannot outlive the trainer.

Whatever goes wrong with the child (it could not start, died, took longer than
``PAINT_TIMEOUT``, answered something else), the picture is drawn in this process instead and
the reason logged at debug level: the files written are the same either way.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

from foretell.train.curves import Curves, draw_png

log = logging.getLogger(__name__)
PAINT_TIMEOUT = 60.0  # seconds; a first matplotlib import on a new machine builds its font cache
PAINTED, NO_MATPLOTLIB = "painted", "no matplotlib"


class CurvePainter:
    """A child process with pyplot imported, asked for one picture (``paint``) or none."""

    def __init__(self) -> None:
        try:
            self._child: subprocess.Popen[str] | None = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:
            log.debug("no curve painter (%s): the picture is drawn in this process", exc)
            self._child = None

    def paint(self, path: Path, curves: Curves, best_epoch: int, title: str) -> Path | None:
        """Draw ``curves`` to ``path`` (the child, else here); ``None`` without matplotlib."""
        child, self._child = self._child, None
        request = {"path": str(path), "best_epoch": best_epoch, "title": title, **asdict(curves)}
        if child is not None and _painted_by(child, request, path):
            return path
        return draw_png(path, curves, best_epoch, title)  # logs a missing matplotlib itself

    def close(self) -> None:
        """Stop the child if no picture was asked for."""
        child, self._child = self._child, None
        if child is not None:
            _stop(child)

    def __enter__(self) -> CurvePainter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _stop(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.communicate()


def _painted_by(child: subprocess.Popen[str], request: dict[str, object], path: Path) -> bool:
    """Send ``request`` to ``child`` and wait; whether it says it wrote ``path`` (the reason
    logged at debug level when it did not, unless matplotlib is missing)."""
    try:
        answer, errors = child.communicate(json.dumps(request), timeout=PAINT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _stop(child)
        answer, errors = "", f"{type(exc).__name__}: {exc}"
    reply = answer.strip()
    if child.returncode == 0 and reply == PAINTED and path.is_file():
        return True
    if reply != NO_MATPLOTLIB:
        reason = (errors.strip().splitlines() or [reply or f"exit status {child.returncode}"])[-1]
        log.debug("the curve painter failed (%s): drawing the picture here", reason)
    return False


def serve() -> str:
    """The child's side: import pyplot, then draw the one picture asked for on stdin.

    Returns what it tells the parent: ``PAINTED``, ``NO_MATPLOTLIB``, nothing when the parent
    closed stdin without asking, or one line saying why a request could not be drawn.
    """
    from foretell.plotting import pyplot_or_none

    if pyplot_or_none("loss-curve plot") is None:
        return NO_MATPLOTLIB
    text = sys.stdin.read()
    if not text:
        return ""
    try:
        request = json.loads(text)
        curves = Curves(request["epochs"], request["train_nll"], request["val_nll"])
        draw_png(Path(request["path"]), curves, int(request["best_epoch"]), str(request["title"]))
    except (ValueError, KeyError, TypeError, OSError) as exc:
        return f"not drawn: {type(exc).__name__}: {exc}"
    return PAINTED


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # the parent reports a missing matplotlib itself
    print(serve(), flush=True)
    # The picture is written and closed and the answer flushed: skip the interpreter's teardown
    # of matplotlib (0.1-0.2 s the trainer would wait for).
    os._exit(0)
