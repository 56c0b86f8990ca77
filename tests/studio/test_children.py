"""The children's one-line errors and thread count (their priority: ``test_jobs``)."""

from __future__ import annotations

import os

from foretell.model.fileformat import SIZE_PRESETS
from foretell.studio.children import child_threads, error_line


def test_an_error_is_the_last_stderr_line_with_names_for_paths() -> None:
    stderr = "matplotlib: building the font cache\nforetell: error: dataset /p/d1.npz is bad\n\n"
    assert error_line(stderr, 1, {"/p/d1.npz": "d1"}) == "dataset d1 is bad"
    traceback = 'Traceback (most recent call last):\n  File "x.py"\nRuntimeError: out of memory\n'
    assert error_line(traceback, 1) == "RuntimeError: out of memory"
    assert error_line("", -9) == "stopped by SIGKILL"
    assert error_line("", 3) == "ended with exit status 3"
    assert len(error_line("x" * 5000, 1)) == 300


def test_a_training_child_leaves_one_usable_cpu_to_the_engine() -> None:
    assert child_threads(SIZE_PRESETS["l"]) == max(1, len(os.sched_getaffinity(0)) - 1)


def test_a_default_size_training_child_runs_on_one_thread() -> None:
    """Its steps are too small to share (docs/evaluation/choices.md, "Threads"): more threads
    would only slow it, whatever the cores."""
    assert child_threads(SIZE_PRESETS["s"]) == 1
