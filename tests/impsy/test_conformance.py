"""IMPSY's conformance vectors (spec 1.0.0, vendored in ``spec/``): every case through foretell's
IMPSY path (``conformance``), 36 of 36; the model case on the committed ``.tflite`` where it is
vendored, else on a fixed-weight model of foretell's own by IMPSY's conventions
(``test_conformance_model``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.impsy import conformance as run

SPEC_VERSION = "1.0.0"  # change only with a deliberate update of spec/ (see spec/SOURCE.md)
CASE_COUNT = 36


def _ids(name: str) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in run.cases(name)]


def test_vendored_vectors_are_the_pinned_spec_version() -> None:
    pinned = json.loads((run.SPEC / "SPEC.json").read_text())
    assert pinned["spec_version"] == SPEC_VERSION
    files = sorted(run.VECTORS.glob("*.json"))
    assert {f"vectors/{f.name}" for f in files} == {k for k in pinned["files"] if "vectors" in k}
    versions = {f.name: run.vector_file(f.stem)["spec_version"] for f in files}
    assert set(versions.values()) == {SPEC_VERSION}, versions
    assert sum(len(run.cases(f.stem)) for f in files) == CASE_COUNT == pinned["cases"]
    assert "Permission is hereby granted" in (run.SPEC / "LICENSE-IMPSY.md").read_text()


@pytest.mark.parametrize("case", _ids("midi_input"))
def test_midi_input(case: dict[str, Any]) -> None:
    tolerance = run.vector_file("midi_input")["tolerance"]
    run.assert_matches(run.run_midi_input(case), case["expected"], tolerance)


@pytest.mark.parametrize("case", _ids("midi_output"))
def test_midi_output(case: dict[str, Any]) -> None:
    run.assert_matches(run.run_midi_output(case), case["expected"], 0.0)


@pytest.mark.parametrize("case", _ids("websocket_input"))
def test_websocket_input(case: dict[str, Any]) -> None:
    tolerance = run.vector_file("websocket_input")["tolerance"]
    run.assert_matches(run.run_websocket_input(case), case["expected"], tolerance)


@pytest.mark.parametrize("case", _ids("websocket_output"))
def test_websocket_output(case: dict[str, Any]) -> None:
    run.assert_matches(run.run_websocket_output(case), case["expected"], 0.0)


@pytest.mark.parametrize("case", _ids("playback"))
def test_playback(case: dict[str, Any]) -> None:
    tolerance = run.vector_file("playback")["tolerance"]
    run.assert_matches(run.run_playback(case), case["expected"], tolerance)


@pytest.mark.parametrize("case", _ids("pipeline"))
def test_pipeline(case: dict[str, Any], tmp_path: Path) -> None:
    tolerance = run.vector_file("pipeline")["tolerance"]
    run.assert_matches(run.run_pipeline(case, tmp_path), case["expected"], tolerance)


@pytest.mark.parametrize("case", _ids("dataset"))
def test_dataset(case: dict[str, Any], tmp_path: Path) -> None:
    tolerance = run.vector_file("dataset")["tolerance"]
    run.assert_matches(run.run_dataset(case, tmp_path), case["expected"], tolerance)
