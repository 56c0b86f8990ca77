"""A serial device (Arduino, Teensy, ...) as a source and a sink of the engine (pyserial).

The line protocol, the same both ways: one event per line, its control values separated by
commas, the line ended by ``\\n`` (a ``\\r`` before it is ignored, spaces too)::

    0.25,0.5,1\\n            scale = 1 (default): values in [0, 1]
    256,512,1023\\n          scale = 1023: integers 0..1023 straight from a 10-bit ADC

Values are divided by ``scale`` on the way in (the engine clips or rejects what falls outside
[0, 1]) and multiplied by it on the way out (rounded to integers when ``scale`` > 1).

- Codec: ``LineSplitter`` (bytes -> complete lines, a bounded buffer) and ``decode_line`` /
  ``encode_line`` (pure).
- Transport: ``SerialLink`` owns the port and a reader thread. The thread opens the device,
  reads, splits and decodes lines, and hands each batch to the loop with
  ``call_soon_threadsafe``. When the device vanishes (USB unplugged) it closes it, reports it
  once, and tries to reopen it every ``reconnect`` seconds: the engine never stops.
  ``SerialSource`` and ``SerialSink`` are the engine's two ends of one link.

Writes never block the loop: the port's file descriptor is non-blocking, and a line that would
wait (device busy, reconnecting, buffer full) is dropped and counted. Garbage bytes,
non-numbers and overlong lines are rejected (``malformed``) and counted; wrong value counts are
rejected by the engine. pyserial is imported only when the link opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
from collections.abc import Sequence
from typing import Any

from foretell.errors import ForetellError
from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source

log = logging.getLogger(__name__)
MAX_LINE = 1024  # bytes: a longer line is garbage (no device sends that many controls)
READ_TIMEOUT = 0.05  # seconds the reader waits for bytes before looking at its stop flag


class SerialError(ForetellError):
    """A serial line cannot be decoded, or a serial device cannot be used."""


# -- codec --------------------------------------------------------------------------------------


def decode_line(line: bytes, scale: float = 1.0) -> list[float]:
    """The values of one line (without its newline); ``SerialError`` if it is not numbers."""
    try:
        text = line.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise SerialError(f"serial line {line[:40]!r} is not ASCII text") from exc
    try:
        values = [float(part) / scale for part in text.split(",")]
    except ValueError as exc:
        raise SerialError(f"serial line {text[:40]!r} is not comma-separated numbers") from exc
    if not all(math.isfinite(v) for v in values):
        raise SerialError(f"serial line {text[:40]!r} holds NaN or infinity")
    return values


def encode_line(values: Sequence[float], scale: float = 1.0) -> bytes:
    """One line for ``values``: ``0.2500,0.5000\\n`` (or integers when ``scale`` > 1)."""
    if scale > 1:
        return (",".join(str(round(v * scale)) for v in values) + "\n").encode("ascii")
    return (",".join(f"{v * scale:.4f}" for v in values) + "\n").encode("ascii")


class LineSplitter:
    """Bytes in, complete lines out; a line longer than ``MAX_LINE`` is dropped (``overlong``)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False  # inside an overlong line: discard up to its newline
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        if self._skipping and lines:
            lines, self._skipping = lines[1:], False  # the end of the overlong line
        elif self._skipping:
            rest = bytearray()
        self._buffer = bytearray(rest)
        if len(self._buffer) > MAX_LINE:
            self._buffer.clear()
            self._skipping = True
            self.overlong += 1
        complete = []
        for line in lines:
            if len(line) > MAX_LINE:
                self.overlong += 1
            elif line.strip():
                complete.append(bytes(line))
        return complete

    def reset(self) -> bytes:
        """Forget a half line (the device went away mid-line); return what was dropped."""
        half = bytes(self._buffer)
        self._buffer.clear()
        self._skipping = False
        return half


Decoded = list[float] | SerialError


def decode_lines(lines: Sequence[bytes], scale: float) -> list[Decoded]:
    decoded: list[Decoded] = []
    for line in lines:
        try:
            decoded.append(decode_line(line, scale))
        except SerialError as exc:
            decoded.append(exc)
    return decoded


def deliver(inbox: Inbox, batch: Sequence[Decoded]) -> None:
    """Hand a batch to the engine in order; only the last input is answered."""
    last = max((i for i, item in enumerate(batch) if isinstance(item, list)), default=-1)
    for i, item in enumerate(batch):
        if isinstance(item, SerialError):
            inbox.on_reject("malformed", str(item))
        else:
            inbox.on_input(item, answer=i == last)


# -- transport ----------------------------------------------------------------------------------


class SerialLink:
    """One serial device, reopened whenever it comes back; shared by a source and a sink.

    ``open``/``close``/``write`` run on the engine's loop; the reader thread (``_run``) owns
    opening, reading and reconnecting. ``_lock`` guards the port object: the loop only ever
    *tries* it, so it never waits for the reader thread.
    """

    def __init__(self, port: str, baud: int = 115200, scale: float = 1.0, reconnect: float = 0.5):
        self.port, self.baud, self.scale, self.reconnect = port, baud, scale, reconnect
        self.connected = threading.Event()
        self.connections = 0  # how many times the device was (re)opened
        self.received = 0  # complete lines read
        self.written = 0
        self._serial: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: Inbox | None = None
        self._users = 0
        self._pending = b""  # the unwritten rest of a line (loop only, under _lock)

    def __repr__(self) -> str:
        return f"SerialLink({self.port!r}, {self.baud})"

    def open(self, inbox: Inbox | None = None) -> None:
        """Start the reader thread (once for both ends); deliver to ``inbox`` if given."""
        if inbox is not None:
            self._inbox = inbox
        self._users += 1
        if self._thread is not None:
            return
        import serial  # noqa: F401 - fail here, on the loop, if pyserial is missing

        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"foretell-serial {self.port}", daemon=True
        )
        self._thread.start()

    def close(self, inbox: Inbox | None = None) -> None:
        """Stop delivering to ``inbox``; the last user stops the thread and closes the port."""
        if inbox is not None and inbox is self._inbox:
            self._inbox = None
        self._users = max(self._users - 1, 0)
        if self._users or self._thread is None:
            return
        self._stop.set()
        self._thread.join(2.0)
        self._thread = None
        with self._lock:
            self._disconnect()

    def write(self, data: bytes) -> bool:
        """Write one line now, or drop it (never waits for the device or the reader thread)."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._serial is None or not self._flush():
                return False
            self._pending = data
            if not self._flush() and len(self._pending) == len(data):
                self._pending = b""  # nothing of it went out: drop it whole
                return False
        finally:
            self._lock.release()
        self.written += 1
        return True

    def _flush(self) -> bool:
        """Write what is pending without waiting (hold ``_lock``); whether all of it went out.

        A line the OS took only part of is finished before the next one, so lines never mix.
        """
        if not self._pending:
            return True
        fd = getattr(self._serial, "fd", None)
        try:
            if fd is None:  # no file descriptor (Windows): pyserial with write_timeout=0
                written = self._serial.write(self._pending)
            else:
                written = os.write(fd, self._pending)
        except (BlockingIOError, InterruptedError):
            written = 0
        except (OSError, ValueError, TypeError):
            return False  # SerialException is an OSError; the reader notices the loss
        self._pending = self._pending[written or 0 :]
        return not self._pending

    # -- the reader thread ----------------------------------------------------------------------

    def _run(self) -> None:
        splitter = LineSplitter()
        reported = False
        while not self._stop.is_set():
            if self._serial is None:
                error = self._connect()
                if error is not None:
                    if not reported:
                        log.warning("serial %s unavailable (%s); retrying", self.port, error)
                        reported = True
                    self._stop.wait(self.reconnect)
                    continue
                reported = False
                log.info("serial %s open at %d baud", self.port, self.baud)
            try:
                data = self._read()
            except (OSError, TypeError, AttributeError) as exc:
                self._lost(splitter, exc)
                continue
            if data:
                self._hand_over(splitter, data)

    def _connect(self) -> str | None:
        import serial

        try:
            port = serial.Serial(self.port, self.baud, timeout=READ_TIMEOUT, write_timeout=0)
        except (OSError, ValueError) as exc:
            return str(exc)
        with self._lock:
            self._serial = port
        self.connections += 1
        self.connected.set()
        return None

    def _read(self) -> bytes:
        port = self._serial
        data: bytes = port.read(max(1, port.in_waiting))
        return data

    def _lost(self, splitter: LineSplitter, exc: BaseException) -> None:
        log.warning("serial %s lost (%s); waiting for it to come back", self.port, exc)
        half = splitter.reset()
        with self._lock:
            self._disconnect()
        if half:
            self._call(deliver, [SerialError(f"half line {half[:40]!r} lost on disconnect")])

    def _disconnect(self) -> None:
        """Close the port (hold ``_lock``)."""
        self.connected.clear()
        if self._serial is not None:
            with contextlib.suppress(OSError):
                self._serial.close()
            self._serial = None
        self._pending = b""

    def _hand_over(self, splitter: LineSplitter, data: bytes) -> None:
        overlong = splitter.overlong
        lines = splitter.feed(data)
        self.received += len(lines)
        batch = decode_lines(lines, self.scale)
        if splitter.overlong > overlong:
            batch.append(SerialError(f"serial line longer than {MAX_LINE} bytes dropped"))
        if batch:
            self._call(deliver, batch)

    def _call(self, fn: Any, batch: list[Decoded]) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: the engine has stopped
            loop.call_soon_threadsafe(self._deliver_on_loop, fn, batch)

    def _deliver_on_loop(self, fn: Any, batch: list[Decoded]) -> None:
        if self._inbox is not None:
            fn(self._inbox, batch)


class SerialSource(Source):
    """Delivers each line read from the link (see ``SerialLink`` for the threads involved)."""

    def __init__(self, link: SerialLink) -> None:
        super().__init__()
        self.link = link
        self._delivering: Inbox | None = None

    def __repr__(self) -> str:
        return f"SerialSource({self.link.port!r})"

    def describe(self) -> str:
        return f"serial {self.link.port} at {self.link.baud} baud"

    def _open(self, inbox: Inbox) -> None:
        self._delivering = inbox
        self.link.open(inbox)

    def _close(self) -> None:
        self.link.close(self._delivering)
        self._delivering = None


class SerialSink(Sink):
    """Writes each event as one line; ``send`` runs on the engine's loop and never blocks."""

    def __init__(self, link: SerialLink) -> None:
        super().__init__()
        self.link = link

    def __repr__(self) -> str:
        return f"SerialSink({self.link.port!r})"

    def _open(self) -> None:
        self.link.open()

    def _send(self, event: Event) -> bool:
        return self.link.write(encode_line(event.values, self.link.scale))

    def _close(self) -> None:
        self.link.close()
