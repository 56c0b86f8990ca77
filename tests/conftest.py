"""Every test package: a dummy JACK server for MIDI (``tests/jack.py``), a socat pty pair for
serial (``tests/ptys.py``), a second host (``tests/netns.py``), and a one-line-per-reason tally of
the skipped tests at the end of a run (what is missing, and how many it costs)."""

from __future__ import annotations

from collections import Counter

import pytest

pytest_plugins = ["tests.jack", "tests.ptys", "tests.chromium", "tests.netns"]


JACK_FIXTURES = {"jack_server", "jack_session"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the dummy JACK server is marked ``jack`` (``pytest -m jack``: just them)."""
    for item in items:
        if JACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.jack)


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = Counter(_reason(r) for r in skipped)
    if not reasons:
        return
    terminalreporter.write_line(f"skipped {len(skipped)}, by reason:")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"  {count:4d}  {reason}")
