"""``LoopLag`` sees a stall of the loop's thread as a performer would: on a real asyncio loop."""

from __future__ import annotations

import asyncio
import threading
import time

from foretell.clock import LoopClock
from foretell.perform.lateness import LoopLag


def test_a_stall_anywhere_in_the_process_shows_as_a_late_wake_up() -> None:
    async def run() -> LoopLag:
        lag = LoopLag(LoopClock())
        lag.start()
        await asyncio.sleep(0.05)
        time.sleep(0.08)  # the loop's own callback holds it
        await asyncio.sleep(0.05)
        hog = threading.Thread(target=lambda: sum(range(3_000_000)))  # a thread holding the GIL
        hog.start()
        await asyncio.sleep(0.1)
        hog.join()
        lag.stop()
        return lag

    lag = asyncio.run(run())
    summary = lag.summary()
    assert summary["max_ms"] >= 75 and summary["over_5ms"] >= 1, summary
    assert summary["checks"] >= 20 and summary["p50_ms"] < summary["max_ms"], summary
    assert 0 < lag.percentile(99) <= lag.slowest
