"""Synthetic instruments unlike the LightPad, and `foretell bench generalise` on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.bench.instruments import INSTRUMENTS, MIDI_STEP
from foretell.data.dataset import load_dataset, save_dataset

CONTROLS = {"fader": 1, "pads": 2, "knobs": 4, "sensors": 8}


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_each_instrument_is_a_valid_dataset_of_its_shape(name: str, tmp_path: Path) -> None:
    drawn = INSTRUMENTS[name].dataset(seed=3, scale=0.1)
    path = tmp_path / f"{name}.npz"
    save_dataset(path, list(drawn.performances))
    loaded = load_dataset(path)  # dt > 0 and controls in [0, 1], or it refuses
    assert loaded.dimension == drawn.dimension == 1 + CONTROLS[name]
    assert len(loaded.performances) == INSTRUMENTS[name].performances
    each = INSTRUMENTS[name].events // 10 // INSTRUMENTS[name].performances
    assert [len(p) for p in loaded.performances] == [each] * len(loaded.performances)
    assert loaded.fingerprint() == INSTRUMENTS[name].dataset(seed=3, scale=0.1).fingerprint()
    assert loaded.fingerprint() != INSTRUMENTS[name].dataset(seed=4, scale=0.1).fingerprint()


def test_the_rhythms_differ_as_described() -> None:
    dt = {
        name: np.concatenate([p[:, 0] for p in i.dataset(0, 0.1).performances])
        for name, i in INSTRUMENTS.items()
    }
    sensors, fader = dt["sensors"], dt["fader"]
    assert np.median(sensors) == pytest.approx(0.01, abs=5e-4) and sensors.std() < 1e-3
    assert (fader > 0.5).mean() > 0.01 and np.median(fader) == pytest.approx(0.033, abs=3e-3)
    grid = np.unique(np.round(dt["pads"] / dt["pads"].min(), 0))
    assert len(grid) <= 12  # a few note values at each performance's tempo
    knob_values = INSTRUMENTS["knobs"].dataset(0, 0.1).performances[0][:, 1:]
    assert np.allclose(knob_values / MIDI_STEP, np.round(knob_values / MIDI_STEP), atol=1e-3)
    moved = (np.diff(knob_values, axis=0) != 0).sum(axis=1)
    assert moved.max() == 1  # one knob at a time


def test_defaults_beat_every_baseline_on_a_small_fader_set() -> None:
    pytest.importorskip("torch")
    from foretell.bench.generalise import bench_instrument, describe

    run = bench_instrument("fader", "s", 0, 0.3)  # 3.2k events: 2.4k to train on
    assert run["controls"] == 1 and run["events"] >= 3000
    assert set(run["baselines"]) == {"iid", "repeat", "ar1", "var1"}
    assert run["test_nll"] < min(run["baselines"].values()) - 1.0
    assert run["margin_nats"] == pytest.approx(min(run["baselines"].values()) - run["test_nll"])
    assert "model" not in run  # its temporary file is gone
    assert describe(run).startswith("fader (1 control, ") and "better)" in describe(run)
