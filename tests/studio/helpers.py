"""Waiting on the studio's children from a test's event loop."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PROC_CHILDREN = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
needs_proc = pytest.mark.skipif(not PROC_CHILDREN.exists(), reason="needs Linux's /proc children")


async def until(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {condition}"
        await asyncio.sleep(0.05)


def child_pids() -> list[int]:
    """This process's children (every thread's), from /proc."""
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.extend(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:  # the thread ended between listing and reading
            continue
    return pids


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return []
