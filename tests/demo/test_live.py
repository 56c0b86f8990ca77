"""The demo's live part: a real engine, a simulated performer and a listener on real UDP sockets."""

from pathlib import Path

from foretell.data.dataset import bundled_dataset_path, load_dataset
from foretell.demo.live import run_live_demo, summarise_live
from foretell.model.random import random_model_file


def test_model_answers_each_phrase_during_the_rests(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm")
    performance = load_dataset(bundled_dataset_path()).performances[0]
    result = run_live_demo(
        model,
        performance,
        tmp_path / "logs",
        phrases=2,
        threshold=0.2,
        phrase_seconds=1.0,
        rest_seconds=1.0,
    )
    assert len(result.phrases) == 2
    assert len(result.user_times) > 40
    assert result.answered_phrases() == 2
    assert all(0.2 <= delay < 1.0 for delay in result.first_answer_delays())
    assert all(
        len(values) == 3 and all(0 <= v <= 1 for v in values) for values in result.model_values
    )
    assert result.log_path is not None and Path(result.log_path).is_file()
    rows = Path(result.log_path).read_text().splitlines()
    assert sum(",interface," in row for row in rows) == len(result.user_times)
    assert "answered 2 of them" in summarise_live(result)[0]
