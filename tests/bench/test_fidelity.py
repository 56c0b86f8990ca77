"""`foretell bench fidelity` at a tiny scale, end to end: real training, the files it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.bench.fidelity import parse_names, parse_seeds, train_has_dense, variants
from foretell.bench.fidelity_report import table_lines
from foretell.cli import cli
from foretell.errors import ConfigError

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def pads_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One seed of drum pads (600 events) at the smallest size, written to a folder."""
    out = tmp_path_factory.mktemp("fidelity")
    options = [
        "--instruments",
        "pads",
        "--seeds",
        "0",
        "--size",
        "xxs",
        "--scale",
        "0.02",
        "--epochs",
        "3",
    ]
    result = CliRunner().invoke(cli, ["bench", "fidelity", *options, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output.strip().splitlines()[-1])


def test_each_variant_is_measured_on_the_same_held_out_pads(
    pads_run: tuple[Path, dict[str, Any]],
) -> None:
    _, result = pads_run
    names = [v.name for v in variants(train_has_dense())]
    assert result["variants"] == names
    assert [(r["instrument"], r["variant"], r["seed"]) for r in result["runs"]] == [
        ("pads", name, 0) for name in names
    ]
    kinds = {run["variant"]: run["model_kinds"] for run in result["runs"]}
    assert kinds["dense"] is None  # the dense model has no control kinds
    if "default" in kinds:  # the default picks the pads' set and the velocities' grid
        assert kinds["default"] == ["set of 8", "grid 1/127, 128 levels from 0"]
    for run in result["runs"]:
        assert run["lattices"] == ["set of 8", "grid 1/127"]
        assert run["nll_basis"] == "cells x1,x2; density dt"
        assert sum(run["moved"]) == pytest.approx(1.0, abs=1e-3)
        assert len(run["moved"]) == len(run["human_moved"]) == 3
        assert run["plays"] == 20  # independent plays of the held-out performances, pooled
        assert run["generated_events"] == 20 * run["scored_events"]
        one = run["moved_tv_one_play"]
        assert 0 <= one["min"] <= one["median"] <= one["max"] <= 1
        # fewer effective events than events: a floor no lower, but for the Monte Carlo
        # noise of two estimates (2000 draws each) where the events are nearly independent
        assert run["moved_tv_floor"] >= 0.97 * run["moved_tv_floor_independent"] > 0
        # every pad value and velocity is a distinct 7-bit value: messages are the moves
        assert run["human_midi_messages"] == pytest.approx(run["human_moved_mean"], abs=1e-3)
        assert set(run["ks"]) == {"dt", "x1", "x2"} and all(0 <= v <= 1 for v in run["ks"].values())
        histogram = run["set_histograms"]["x1"]
        assert len(histogram["values"]) == len(histogram["human"]) == 8
        assert run["set_tv"]["x1"] == pytest.approx(
            0.5
            * sum(
                abs(a - b) for a, b in zip(histogram["generated"], histogram["human"], strict=True)
            ),
            abs=1e-3,
        )
        assert 0 <= run["on_lattice"]["all"] <= 1 and run["step_ms"] > 0 and run["wall_seconds"] > 0
    assert not result["default_available"] or result["notes"] == []


def test_the_report_is_written(pads_run: tuple[Path, dict[str, Any]]) -> None:
    out, result = pads_run
    assert json.loads((out / "fidelity.json").read_text())["runs"] == result["runs"]
    page = (out / "fidelity.md").read_text()
    assert "| pads | dense |" in page
    assert "Check: the dense models' common-basis NLL, computed again" in page
    for line in table_lines(result):
        assert line in page
    if pytest.importorskip("matplotlib"):
        figures = {p.name for p in out.glob("*.png")}
        assert figures == {"fidelity-moved.png", "fidelity-summary.png", "fidelity-sets.png"}
        assert all(f"]({name})" in page for name in figures)


def test_every_variant_is_a_way_foretell_train_takes() -> None:
    """Each variant's options parse as ``foretell train``'s (an unknown choice would not)."""
    import click

    from foretell.bench.fidelity import VARIANTS

    train = cli.get_command(click.Context(cli), "train")
    assert train is not None
    for variant in VARIANTS.values():
        with train.make_context("train", ["data.npz", *variant.options]) as context:
            assert context.params["data"] == Path("data.npz")
    with pytest.raises(click.BadParameter):
        train.make_context("train", ["data.npz", "--step-inputs", "sometimes"])


def test_bad_options_get_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown instrument"):
        parse_names("pads,theremin")
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("0,x")
    result = CliRunner().invoke(cli, ["bench", "fidelity", "--instruments", "harp"])
    assert result.exit_code != 0 and "unknown instrument" in str(result.exception)


def test_ratios_to_dense_pair_runs_seed_by_seed() -> None:
    from foretell.bench.fidelity import ratios_to_dense

    def run(variant: str, seed: int, wall: float, step: float) -> dict[str, Any]:
        return {
            "instrument": "knobs",
            "variant": variant,
            "seed": seed,
            "wall_seconds": wall,
            "step_ms": step,
        }

    runs = [run("dense", 0, 10, 0.1), run("default", 0, 12, 0.1), run("dense", 1, 20, 0.2)]
    runs.append(run("default", 1, 20, 0.3))
    ratios = ratios_to_dense(runs, "knobs", "default")
    assert ratios["wall_ratio"] == {"mean": 1.1, "min": 1.0, "max": 1.2}
    assert ratios["step_ratio"] == {"mean": 1.25, "min": 1.0, "max": 1.5}
    assert ratios_to_dense(runs, "knobs", "dense") == {"wall_ratio": None, "step_ratio": None}


def test_goals_are_read_from_the_summary() -> None:
    from foretell.bench.fidelity_report import goal_rows, grouped

    def figure(mean: float) -> dict[str, float]:
        return {"mean": mean, "min": mean, "max": mean}

    def row(name: str, variant: str, nll: float, **figures: float | None) -> dict[str, Any]:
        values = {key: None if v is None else figure(v) for key, v in figures.items()}
        return {"instrument": name, "variant": variant, "nll": figure(nll), **values}

    summary = [
        row("knobs", "dense", -1.0, moved_tv=0.9, on_grid=0.1, midi_messages=2.8, set_tv=None),
        row(
            "knobs", "default", -2.0, moved_tv=0.04, on_grid=0.9999, midi_messages=1.2, set_tv=None
        ),
    ]
    summary[1]["wall_ratio"], summary[1]["step_ratio"] = figure(1.2), figure(1.5)
    rows = {words: (value, met) for words, value, met in goal_rows({"summary": summary})}
    assert rows == {
        "knobs: moved/event TV <= 0.05": ("0.040", "yes"),
        "knobs: on the grid = 100 %": ("1.000", "no"),  # 0.9999 is not all of them
        "knobs: MIDI messages per event <= 1.1": ("1.200", "no"),
        "knobs: default NLL below dense (default - dense, nats)": ("-1.000", "yes"),
        "training wall <= 1.3x dense (worst instrument)": ("1.200", "yes"),
        "NumPy step <= 1.3x dense (worst instrument)": ("1.500", "no"),
    }
    assert grouped(["grid 1/127"] * 4 + ["set of 8", "grid 1/127"]) == (
        "4 x grid 1/127, set of 8, grid 1/127"
    )


def test_each_play_of_the_held_out_performances_draws_on_its_own(tmp_path: Path) -> None:
    """``--plays``: every play follows every held-out performance from its first event for as
    many events as follow it, with its own generator: plays differ, and a seed repeats them."""
    from foretell.bench.fidelity import generate_beside
    from tests.moves_files import moves_model_file

    model = moves_model_file(tmp_path / "m.ftm")
    rng = np.random.default_rng(0)
    held_out = [np.column_stack([np.full(n, 0.05), rng.uniform(size=(n, 3))]) for n in (30, 12)]
    played, step_ms = generate_beside(model, held_out, seed=4, plays=3)
    assert [[len(run) for run in play] for play in played] == [[29, 11]] * 3
    assert len(step_ms) == 3 * (29 + 11) and (step_ms > 0).all()
    first = [np.concatenate(play) for play in played]
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    again, _ = generate_beside(model, held_out, seed=4, plays=3)
    assert all(
        np.array_equal(a, b)
        for p, q in zip(played, again, strict=True)
        for a, b in zip(p, q, strict=True)
    )


def test_moves_one_step_at_a_time_are_the_model_s_own_chances_on_the_human_playing(
    tmp_path: Path,
) -> None:
    """Fed the human playing, one sample after each human event moves each control as often
    as the model says it will (its expected chances of moving, summed over the controls)."""
    from foretell.bench.fidelity import one_step_measures, one_step_moves
    from foretell.model.protocol import load_voice
    from tests.moves_files import moves_model_file

    model = moves_model_file(tmp_path / "m.ftm", seed=5)
    rng = np.random.default_rng(1)
    grid = rng.integers(0, 9, size=(40, 2)) / 8
    held_out = [np.column_stack([np.full(40, 0.05), grid, rng.uniform(size=40)])]
    counts = one_step_moves(model, held_out, seed=0, plays=200)
    assert len(counts) == 200 and all(len(c) == 39 for c in counts)
    voice = load_voice(model, seed=0)
    chances = [
        sum(voice.model.expected(voice.observe(e), 1.0, 1.0)["moves"]) for e in held_out[0][:-1]
    ]
    assert np.concatenate(counts).mean() == pytest.approx(np.mean(chances), abs=0.03)
    measured = one_step_measures(counts, held_out, 3)
    assert sum(measured["moved_one_step"]) == pytest.approx(1.0, abs=1e-3)
    assert measured["moved_one_step"][0] == 0.0  # the continuous control moves at every event
