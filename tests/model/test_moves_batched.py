"""One step for any number of a moves model's voices: stepped together, each voice predicts and
plays what it would stepped alone (the same seed, the same events)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.model.moves import MovesModel, MovesVoice
from foretell.model.protocol import load
from foretell.model.runtime import MIN_BATCH
from tests.moves_files import moves_model_file


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "steps"])
def model_path(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A moves model, and one whose network reads its grid controls' steps."""
    folder = tmp_path_factory.mktemp("moves")
    return moves_model_file(folder / "m.ftm", seed=4, steps=request.param)


def _voices(path: Path, n: int) -> tuple[MovesModel, list[MovesVoice]]:
    model = load(path)
    assert isinstance(model, MovesModel)
    return model, [model.voice(np.random.default_rng(i)) for i in range(n)]


@pytest.mark.parametrize("n", [2, MIN_BATCH, 9])
def test_n_voices_stepped_together_play_as_each_alone(model_path: Path, n: int) -> None:
    """Each voice plays on its own samples for 40 events: predictions to float32 rounding,
    the same moving sets and the same grid values, dt and the continuous control within 1e-5."""
    together, voices = _voices(model_path, n)
    _, singles = _voices(model_path, n)
    events = [np.array([0.05, i % 9 / 8, 0.5, 0.3]) for i in range(n)]
    alone_events = [e.copy() for e in events]
    for _ in range(40):
        together.step(voices, events)
        for single, event in zip(singles, alone_events, strict=True):
            single.observe(event)
        for voice, single in zip(voices, singles, strict=True):
            np.testing.assert_allclose(voice.prediction, single.prediction, atol=1e-5, rtol=0)
            state, alone = voice.get_state(), single.get_state()
            np.testing.assert_allclose(state.hidden, alone.hidden, atol=1e-6, rtol=0)
            np.testing.assert_allclose(state.cell, alone.cell, atol=1e-6, rtol=0)
        events = [v.sample(v.prediction) for v in voices]
        alone_events = [v.sample(v.prediction) for v in singles]
        for event, alone_event in zip(events, alone_events, strict=True):
            assert event[1:3].tolist() == alone_event[1:3].tolist()  # the grid controls
            np.testing.assert_allclose(event[[0, 3]], alone_event[[0, 3]], rtol=1e-5, atol=1e-6)


def test_a_step_refuses_a_voice_of_another_model(model_path: Path) -> None:
    model, voices = _voices(model_path, MIN_BATCH - 1)
    _, (other,) = _voices(model_path, 1)
    with pytest.raises(ValueError, match="voices of this model"):
        model.step([*voices, other], [np.array([0.05, 0.5, 0.5, 0.3])] * MIN_BATCH)
