"""Schedules and the version store (no torch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foretell.config.schedule import LearnSchedule, parse_schedule
from foretell.errors import ConfigError, ModelFileError
from foretell.learn.versions import ModelStore
from foretell.model.fileformat import load_model, weights_digest
from foretell.model.random import random_model


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every=200", LearnSchedule("events", 200)),
        ("every=200 events", LearnSchedule("events", 200)),
        ("every=30s", LearnSchedule("seconds", 30)),
        ("every 2.5 seconds", LearnSchedule("seconds", 2.5)),
        ("on demand", LearnSchedule("demand")),
    ],
)
def test_schedules_parse(text: str, expected: LearnSchedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["sometimes", "every=0", "every=5 minutes"])
def test_bad_schedules_name_the_valid_forms(text: str) -> None:
    with pytest.raises(ConfigError, match="on demand"):
        parse_schedule(text)


def test_schedules_fall_due() -> None:
    assert LearnSchedule("events", 10).due(10, 0.0)
    assert not LearnSchedule("events", 10).due(9, 99.0)
    assert LearnSchedule("seconds", 5).due(0, 5.0)
    assert not LearnSchedule("demand").due(10**6, 10**6)


def test_store_keeps_every_version_with_its_metrics(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.versions() == [] and not (tmp_path / "models").exists()
    base, other = random_model(seed=0), random_model(seed=1)
    assert store.adopt(base, "start.ftm").number == 0
    assert store.adopt(base, "start.ftm").number == 0  # same weights: the same version
    v1 = store.add(other, 0, {"recent_nll_after": -3.0}, {"logs": ["a.log"]})
    assert (v1.number, v1.parent) == (1, 0)
    assert [v.number for v in ModelStore(tmp_path / "models").versions()] == [0, 1]
    assert store.get(1).metrics == {"recent_nll_after": -3.0}
    loaded = load_model(store.path(1))
    assert weights_digest(loaded.weights) == weights_digest(other.weights)
    assert loaded.info["version"] == 1
    with pytest.raises(ModelFileError, match="no model version 7"):
        store.path(7)


def test_run_refuses_a_bad_learn_schedule(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from foretell.cli import cli

    model = tmp_path / "m.ftm"
    from foretell.model.fileformat import save_model

    save_model(model, random_model())
    args = ["run", "--model", str(model), "--learn", "sometimes", "--no-log"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and "on demand" in str(result.exception)
