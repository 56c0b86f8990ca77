"""The loss-curve picture: drawn by a warm child process, or here when the child cannot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from foretell.data.dataset import save_dataset
from foretell.train.curve_painter import NO_MATPLOTLIB, CurvePainter
from foretell.train.curves import Curves
from tests.fixtures import bundled_performances

pytest.importorskip("matplotlib")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CURVES = Curves([1, 2, 3], [-1.0, -2.0, -2.5], [-0.9, -1.8, -2.1])

# ``foretell train`` in a fresh interpreter, then whether this process ever imported matplotlib.
TRAIN_THEN_MATPLOTLIB = """
import sys
data, out = sys.argv[1:3]
sys.argv = ["foretell", "train", data, "--size", "xxs", "--epochs", "2", "--out", out]
from foretell.cli import main
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print("matplotlib" in sys.modules)
"""


def test_train_draws_its_curves_without_loading_matplotlib_itself(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data, model = tmp_path / "small.npz", tmp_path / "m.ftm"
    save_dataset(data, bundled_performances(limit=300))
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_THEN_MATPLOTLIB, str(data), str(model)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "m.curves.png").read_bytes().startswith(PNG_SIGNATURE)
    assert len((tmp_path / "m.curves.csv").read_text().splitlines()) == 3


def painter_children() -> list[int]:
    """The process ids of this process's curve-painter children (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if parent == os.getpid() and b"foretell.train.curve_painter" in command:
            found.append(int(stat.parent.name))
    return found


def test_a_painter_whose_child_died_draws_the_picture_here(tmp_path: Path) -> None:
    with CurvePainter() as painter:
        (child,) = painter_children()
        os.kill(child, signal.SIGKILL)
        path = painter.paint(tmp_path / "c.png", CURVES, 2, "title")
    assert path == tmp_path / "c.png"
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_a_painter_closed_unasked_leaves_no_process_behind() -> None:
    painter = CurvePainter()
    (child,) = painter_children()
    painter.close()
    assert painter_children() == []
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # reaped, not a zombie


def test_the_child_answers_no_matplotlib_where_there_is_none(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    paths = [str(tmp_path / "shadow"), *sys.path]
    request = {"path": str(tmp_path / "c.png"), "best_epoch": 1, "title": "t", "epochs": [1]}
    done = subprocess.run(
        [sys.executable, "-m", "foretell.train.curve_painter"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == NO_MATPLOTLIB
    assert not (tmp_path / "c.png").exists()


@pytest.mark.parametrize("garbage", ["{not json", '{"path": "x.png"}', "[1, 2]"])
def test_the_child_answers_a_bad_request_in_one_line(tmp_path: Path, garbage: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "foretell.train.curve_painter"],
        input=garbage,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("not drawn: ")
    assert len(done.stdout.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
