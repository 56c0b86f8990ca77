"""A simulated performer: plays a recorded performance to an OSC port at its own tempo.

``replay(events, target)`` sends each row ``(dt, x1..xN)`` of a performance (a dataset's
``(n, D)`` array) as ``/interface x1..xN`` after its ``dt``, against absolute deadlines, until the
rows run out or ``stop`` is set. For demos and tests; it shares no state with the engine (it is
a separate client, as a real instrument would be).
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np

from foretell.io.osc_codec import encode_floats


def replay(
    events: np.ndarray,
    target: tuple[str, int],
    address: str = "/interface",
    speed: float = 1.0,
    stop: threading.Event | None = None,
) -> int:
    """Send ``events`` to ``target`` at their recorded intervals / ``speed``; return how many."""
    stop = stop or threading.Event()
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        due = time.monotonic()
        for row in np.asarray(events, dtype=np.float64):
            due += float(row[0]) / speed
            if stop.wait(max(0.0, due - time.monotonic())):
                break
            sock.sendto(encode_floats(address, np.clip(row[1:], 0.0, 1.0).tolist()), target)
            sent += 1
    return sent
