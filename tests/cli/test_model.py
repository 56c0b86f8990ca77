import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from foretell.data.dataset import save_dataset
from foretell.data.logs_to_dataset import build_dataset
from foretell.model.fileformat import save_model
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from tests.fixtures import bundled_performances, write_take


def foretell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "foretell", *args], capture_output=True, text=True)


def test_trace_scores_every_next_event_in_the_data_space(tmp_path: Path) -> None:
    model = random_model()
    model_path = save_model(tmp_path / "m.ftm", model)
    perfs = bundled_performances(120)[:2]
    save_dataset(tmp_path / "d.npz", perfs)
    result = foretell(
        "trace",
        str(model_path),
        str(tmp_path / "d.npz"),
        "--json",
        "--out",
        str(tmp_path / "t.npz"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["events"] == 2 * 119
    out = np.load(tmp_path / "t.npz", allow_pickle=True)
    assert [r.shape for r in out["raw"]] == [(120, model.spec.mixture.params)] * 2
    assert [n.shape for n in out["nll"]] == [(119,)] * 2
    # the same numbers by hand: fresh state, data-space log-likelihood
    runtime = DenseModel(model).voice()
    raws = np.array([runtime.observe(e).copy() for e in perfs[0]])
    expected = -runtime.model.log_likelihood(raws[:-1], perfs[0][1:])
    np.testing.assert_allclose(out["nll"][0], expected, rtol=1e-5)
    assert summary["mean_nll"] == np.concatenate(list(out["nll"])).mean()


def test_trace_refuses_a_dataset_of_another_dimension(tmp_path: Path) -> None:
    model_path = save_model(tmp_path / "m.ftm", random_model(dimension=3))
    save_dataset(tmp_path / "d.npz", bundled_performances(20))
    result = foretell("trace", str(model_path), str(tmp_path / "d.npz"))
    assert result.returncode == 1
    assert "has dimension 4 but the model expects 3" in result.stderr


def test_generate_writes_a_valid_reproducible_performance(tmp_path: Path) -> None:
    model_path = save_model(tmp_path / "m.ftm", random_model())
    outputs = []
    for name in ("a.csv", "b.csv"):
        result = foretell(
            "generate",
            str(model_path),
            "--steps",
            "200",
            "--seed",
            "3",
            "--out",
            str(tmp_path / name),
        )
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / name).read_text())
    assert outputs[0] == outputs[1]
    rows = list(csv.reader(outputs[0].splitlines()))
    assert rows[0] == ["dt", "x1", "x2", "x3"]
    values = np.array(rows[1:], dtype=float)
    assert values.shape == (200, 4)
    assert (values[:, 0] > 0).all() and ((values[:, 1:] >= 0) & (values[:, 1:] <= 1)).all()


def test_trace_under_constraints_counts_events_outside(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    performance = np.column_stack([rng.lognormal(-3.5, 0.5, 300), rng.random((300, 3))])
    data = tmp_path / "d.npz"
    save_dataset(data, [performance])
    model = save_model(tmp_path / "m.ftm", random_model(units=16))
    plain = _trace_json(model, data)
    held = _trace_json(model, data, "--hold", "1=0.5", "--range", "0=0.25:0.75")
    assert plain["outside"] == 0 and plain["events"] == 299
    inside = int(((performance[1:, 1] >= 0.25) & (performance[1:, 1] <= 0.75)).sum())
    assert held["events"] == inside and held["outside"] == 299 - inside
    assert np.isfinite(held["mean_nll"]) and held["mean_nll"] != plain["mean_nll"]
    bad = subprocess.run(
        [sys.executable, "-m", "foretell", "trace", str(model), str(data), "--hold", "9=0.5"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "--hold: hold: control 9 does not exist" in bad.stderr


def test_trace_reads_a_performance_log_as_its_performers_events(tmp_path: Path) -> None:
    log = write_take(tmp_path / "take-4d-mdrnn.log", bundled_performances(60)[0], model_every=5)
    build_dataset([log], tmp_path / "d.npz")
    model = save_model(tmp_path / "m.ftm", random_model(units=16))
    from_log, from_dataset = _trace_json(model, log), _trace_json(model, tmp_path / "d.npz")
    assert from_log["events"] == 58  # 60 rows, the first has no interval, the rnn rows left out
    assert from_log == from_dataset


def _trace_json(model: Path, data: Path, *flags: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "foretell", "trace", str(model), str(data), "--json", *flags]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]
