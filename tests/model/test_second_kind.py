"""A second kind of model plugs in as a module plus one registration (``tests/model/walk_kind.py``,
written against ``foretell.model.protocol`` alone) and then plays everywhere a dense model does:
model files, ``foretell generate`` and ``trace``, an instrument and hot swap, batched stepping in
an ensemble, the dashboard's model card and expected next."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.clock import FakeClock
from foretell.config import config_from_dict
from foretell.dashboard.frames import Activity, expect_message, state_message
from foretell.data.dataset import save_dataset
from foretell.errors import ModelFileError
from foretell.model import kinds
from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelFile, load_model, read_metadata, save_model
from foretell.model.protocol import load, load_voice
from foretell.model.random import plausible_transform
from foretell.perform.batching import BatchedVoice
from foretell.perform.build import build_engine
from foretell.perform.instrument import load_now
from tests.model.walk_kind import WalkModel, WalkSpec
from tests.perform.helpers import instrument, play


@pytest.fixture
def walk_file(tmp_path: Path) -> Path:
    transform = plausible_transform(np.random.default_rng(0), 4, 200, 0.05, 0.3)
    spec = WalkSpec(4, transform)
    spread = np.array([0.2, 0.1, 0.1, 0.1], dtype=np.float32)
    return save_model(tmp_path / "walk.ftm", ModelFile(spec, {"spread": spread}, {"name": "w"}))


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one line a new kind adds to ``foretell.model.kinds.KINDS``."""
    table = {**kinds.KINDS, "walk": "tests.model.walk_kind"}
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType(table))


def test_a_file_of_an_unregistered_kind_is_refused_in_one_line(walk_file: Path) -> None:
    assert read_metadata(walk_file)["kind"] == "walk"
    with pytest.raises(ModelFileError, match=r"walk.ftm: model kind 'walk' is unknown \(this "):
        load_model(walk_file)


@pytest.mark.usefixtures("registered")
def test_a_registered_kind_loads_generates_and_traces(walk_file: Path, tmp_path: Path) -> None:
    model = load(walk_file)
    assert isinstance(model, WalkModel) and model.file.info == {"name": "w"}
    runner = CliRunner()
    out = tmp_path / "walk.csv"
    args = ["generate", str(walk_file), "--steps", "50", "--seed", "3", "--out", str(out)]
    assert runner.invoke(cli, args).exit_code == 0
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert rows.shape == (50, 4) and (rows[:, 0] > 0).all()
    assert ((rows[:, 1:] >= 0) & (rows[:, 1:] <= 1)).all()
    data = tmp_path / "d.npz"
    save_dataset(data, [rows])
    traced = runner.invoke(cli, ["trace", str(walk_file), str(data), "--json"])
    assert traced.exit_code == 0, traced.output
    summary = json.loads(traced.output)
    assert summary["events"] == 49 and np.isfinite(summary["mean_nll"])
    shown = runner.invoke(cli, ["info", str(walk_file)])
    assert shown.exit_code == 0 and "walk: dimension 4, 4 parameters" in shown.output
    as_json = json.loads(runner.invoke(cli, ["info", str(walk_file), "--json"]).output)
    assert (as_json["kind"], as_json["parameters"], as_json["dimension"]) == ("walk", 4, 4)


@pytest.mark.usefixtures("registered")
def test_an_instrument_plays_it_steered_and_swaps_between_kinds(walk_file: Path) -> None:
    inst, clock, sink = instrument("filter", constraints=Constraints(holds={1: 0.25}))
    play(inst, clock, 2)  # the dense model has a state and a prediction now
    assert inst.swap_runtime(load_voice(walk_file, seed=1), str(walk_file))
    assert inst.runtime is not None and isinstance(inst.runtime.model, WalkModel)
    assert not np.any(inst.runtime.get_state())  # nothing of the dense state was carried over
    assert inst.snapshot().expected is None  # nor its prediction
    sink.events.clear()
    play(inst, clock, 10)
    answers = [e for e in sink.events if e.source == "model"]
    assert len(answers) == 10 and all(a.values[1] == 0.25 for a in answers)
    snap = inst.snapshot()
    card = state_message(snap, inst.runtime.model, Activity.create())["state"]["model"]
    assert card["dimension"] == 4 and card["params"] == 4
    expect = expect_message(inst.runtime.model, snap, None)["expect"]
    assert len(expect["components"]) == 1 and expect["dt"] > 0


@pytest.mark.usefixtures("registered")
def test_an_ensemble_shares_and_batches_a_walk_model(walk_file: Path) -> None:
    names = ("a", "b", "c", "d")
    config = config_from_dict(
        {
            "model": {"seed": 0},
            "log": {"enabled": False},
            "instrument": {
                n: {"model": str(walk_file), "mode": "filter", "listen_port": 0, "batch": True}
                for n in names
            },
        }
    )
    session = build_engine(config, FakeClock(), load_now)
    voices = [session.engine.instruments[n].runtime for n in names]
    assert all(isinstance(v, BatchedVoice) for v in voices)
    assert len({id(v.model) for v in voices if v is not None}) == 1  # one copy of the weights


@pytest.mark.usefixtures("registered")
def test_learning_while_playing_says_it_fine_tunes_dense_models_only(
    walk_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("torch")
    from foretell.config.learn import LearnConfig, LearnSchedule
    from foretell.data.dataset import bundled_dataset_path
    from foretell.learn.coordinator import Learner

    inst, clock, _ = instrument("filter")
    assert inst.swap_runtime(load_voice(walk_file, seed=1))
    config = LearnConfig(LearnSchedule("demand"), tmp_path / "models", bundled_dataset_path())
    learner = Learner(config, inst, clock)
    assert learner.start() is False and learner.state == "unavailable"
    assert "fine-tunes dense or moves models, not walk" in caplog.text
    assert not (tmp_path / "models").exists()  # nothing adopted, nothing written
