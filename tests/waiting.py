"""Waiting on events, not on time: poll a condition until it holds, and fail naming what did not
happen. A test that waits this way is as fast as the machine allows and no flakier when it is
busy; a fixed sleep is either too long on a quiet machine or too short on a loaded one."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.02  # seconds between two looks: a look may ask the server under test (HTTP, a page)


def wait_until(predicate: Callable[[], T], timeout: float = 5.0, what: str = "the condition") -> T:
    """Call ``predicate`` until it returns something true, and return that; after ``timeout``
    seconds fail with an ``AssertionError`` that names ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_S)


def udp_port_bound(port: int) -> bool:
    """Whether some process has bound UDP ``port`` on this machine (IPv4 or IPv6, any address),
    read from the kernel's socket tables: looking never takes the port from its owner."""
    wanted = f":{port:04X}"
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local = line.split()[1]  # e.g. 0100007F:1F90
            if local.endswith(wanted):
                return True
    return False
