"""The thread policy: one torch thread for small networks, else one per CPU free to this process,
measured from the kernel."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from foretell.train.threads import (
    MIN_WORK_FOR_THREADS,
    free_cpus,
    other_demand,
    threads_for_whole_segments,
    training_threads,
    usable_cpus,
)


@contextmanager
def burners(count: int) -> Iterator[None]:
    """``count`` real CPU-bound processes, bounded in time, stopped on exit."""
    code = "import time\nend = time.time() + 60\nprint('busy', flush=True)\n"
    code += "while time.time() < end: pass"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    try:
        for proc in procs:  # each says it is in its loop: running, not starting up
            assert proc.stdout is not None and proc.stdout.readline() == "busy\n"
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def loadavg_file(tmp_path: Path, running: int) -> Path:
    path = tmp_path / "loadavg"
    path.write_text(f"0.50 0.40 0.30 {running}/200 12345\n")
    return path


def test_usable_cpus_is_the_affinity_mask() -> None:
    assert usable_cpus() == len(os.sched_getaffinity(0))


def test_an_explicit_thread_count_wins(tmp_path: Path) -> None:
    assert training_threads(3, loadavg=loadavg_file(tmp_path, 50)) == 3
    assert training_threads(3, units=16) == 3


def test_small_steps_train_on_one_thread_and_big_ones_on_the_free_cpus(tmp_path: Path) -> None:
    quiet = loadavg_file(tmp_path, 1)
    narrow = math.isqrt(MIN_WORK_FOR_THREADS // 32) - 1  # units a batch of 32 leaves one thread
    assert training_threads(units=narrow, batch_size=32, loadavg=quiet) == 1
    assert training_threads(units=64, batch_size=32, loadavg=quiet) == 1  # the default size
    assert training_threads(units=128, batch_size=8, loadavg=quiet) == 1
    assert training_threads(units=128, batch_size=32, loadavg=quiet) == usable_cpus()
    assert training_threads(units=256, batch_size=8, loadavg=quiet) == usable_cpus()


def test_only_this_process_running_leaves_every_cpu(tmp_path: Path) -> None:
    assert free_cpus(loadavg_file(tmp_path, 1)) == usable_cpus()


def test_a_full_machine_still_gets_one_thread(tmp_path: Path) -> None:
    assert free_cpus(loadavg_file(tmp_path, usable_cpus() + 5)) == 1


def test_unreadable_kernel_count_falls_back_to_the_load_average(tmp_path: Path) -> None:
    (tmp_path / "loadavg").write_text("garbage\n")
    assert other_demand(tmp_path / "loadavg") == pytest.approx(os.getloadavg()[0], abs=1.0)


def test_busy_cpus_are_not_counted_as_free() -> None:
    with burners(usable_cpus()):
        assert free_cpus() == 1


def test_training_beside_busy_cpus_uses_one_thread() -> None:
    pytest.importorskip("torch")
    from foretell.data.dataset import Dataset
    from foretell.train.config import TrainConfig
    from foretell.train.loop import train
    from tests.fixtures import bundled_performances

    data = Dataset(tuple(bundled_performances(limit=200)), 4, "tiny")
    # big enough steps for every free CPU (threads.MIN_WORK_FOR_THREADS), but none is free
    config = TrainConfig(layers=1, units=128, mixtures=2, epochs=1, batch_size=32)
    with burners(usable_cpus()):
        result = train(data, config)
    assert result.model.info["threads"] == 1


def test_scoring_a_few_whole_segments_runs_on_one_thread_and_restores_the_count() -> None:
    torch = pytest.importorskip("torch")
    from foretell.model.fileformat import ModelSpec
    from foretell.model.torch_mdrnn import MDRNN
    from foretell.model.transform import DataTransform
    from foretell.train.batches import Segments
    from foretell.train.step import evaluate
    from tests.fixtures import bundled_performances

    performances = bundled_performances(limit=300)[:3]
    transform = DataTransform.fit(np.concatenate(performances))
    net = MDRNN(ModelSpec(4, 2, 64, 5, transform))
    seen: list[int] = []
    net.lstm.register_forward_pre_hook(lambda module, args: seen.append(torch.get_num_threads()))
    segments = Segments.build(performances, transform)
    kept = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = evaluate(net, segments)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(kept)
    assert seen == [1]  # 3 segments x 64 units: too little to share at each step
    assert np.isfinite(two)


def test_whole_segments_share_threads_only_when_there_is_work_to_share() -> None:
    assert threads_for_whole_segments(64, 4, 2) == 1
    assert threads_for_whole_segments(64, 32, 2) == 2
    assert threads_for_whole_segments(512, 4, 2) == 2
