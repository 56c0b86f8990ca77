"""``foretell dataset`` reads a folder of logs written by IMPSY itself."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from foretell.data.dataset import load_dataset


def impsy_log(path: Path, start_second: int, rows: list[tuple[float, str, list[float]]]) -> None:
    """Rows as IMPSY's logger writes them: ``ISO timestamp,source,x1,...,xN`` (no header)."""
    lines = []
    for seconds, source, values in rows:
        stamp = f"2024-03-01T10:00:{start_second + seconds:09.6f}"
        lines.append(",".join([stamp, source, *(repr(v) for v in values)]))
    path.write_text("\n".join(lines) + "\n")


def test_dataset_from_a_folder_of_impsy_logs(tmp_path: Path) -> None:
    logs = tmp_path / "impsy-logs"
    logs.mkdir()
    impsy_log(
        logs / "2024-03-01T10-00-00-4d-mdrnn.log",
        0,
        [
            (0.0, "interface", [0.1, 0.2, 0.3]),
            (0.25, "interface", [0.2, 0.3, 0.4]),
            (0.3, "rnn", [0.9, 0.9, 0.9]),
            (0.75, "interface", [0.3, 0.4, 0.5]),
        ],
    )
    impsy_log(
        logs / "2024-03-01T10-00-20-4d-mdrnn.log",
        20,
        [(0.0, "interface", [0.5, 0.5, 0.5]), (1.5, "interface", [0.6, 0.6, 0.6])],
    )
    out = tmp_path / "data.npz"
    result = subprocess.run(
        [sys.executable, "-m", "foretell", "dataset", str(logs), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    perfs = sorted(load_dataset(out).performances, key=len)
    # the first row of a log has no interval before it, so each performance starts at row 2
    assert [p.shape for p in perfs] == [(1, 4), (2, 4)]
    np.testing.assert_allclose(perfs[1][:, 0], [0.25, 0.5], rtol=1e-5)  # dt from the timestamps
    np.testing.assert_allclose(perfs[1][:, 1:], [[0.2, 0.3, 0.4], [0.3, 0.4, 0.5]])
    np.testing.assert_allclose(perfs[0][0], [1.5, 0.6, 0.6, 0.6], rtol=1e-5)
    assert (np.concatenate(perfs)[:, 0] > 0).all()
