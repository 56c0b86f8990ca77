"""The simulated performer against the real engine, and the torch boundary of the perform path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from foretell.config import RunConfig, override
from foretell.model.random import random_model_file
from foretell.perform.replay import replay
from foretell.perform.session import start_engine
from tests.fixtures import bundled_performances
from tests.waiting import wait_until


def test_replaying_a_real_performance_into_callresponse(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", units=16)
    performance = bundled_performances(limit=40)[0]
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="callresponse", threshold=0.1)
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=9)
    config = override(config, "log", dir=tmp_path)
    with start_engine(config) as engine:
        sent = replay(performance, engine.osc_address, speed=4.0)
        snap = wait_until(
            lambda: (s := engine.snapshot().instruments[0]).generated and s,
            what="the model to answer the silence after the replay",
        )
    assert sent == 40 and snap.inputs == 40 and snap.generated > 0


def test_the_perform_path_never_imports_torch() -> None:
    code = (
        "import sys, foretell.perform.session, foretell.io.osc, foretell.data.logs_to_dataset, "
        "foretell.cli.run_commands; print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
