"""A dummy JACK server for the test session: real MIDI ports without sound hardware.

Use it by naming the fixture (``tests/conftest.py`` loads this module as a plugin)::

    def test_something(jack_server: JackServer) -> None:
        keys = jack_server.output("keys")          # a performer's port, "keys:keys" in JACK
        ...                                        # foretell opens "keys" like any port
        jack_server.disconnect("keys:keys", "...")  # jack_disconnect / jack_connect

``jack_server`` starts ``jackd --no-realtime -d dummy`` once per session
(``jack_session``) under a name of its own (``foretell-test-PID``), stops it after the last
test, and closes the ports a test made after that test; tests are skipped, saying why, where
``jackd`` is missing or cannot start. While it runs, ``os.environ`` has ``JACK_DEFAULT_SERVER``,
``JACK_NO_START_SERVER=1`` and ``MIDO_BACKEND=mido.backends.rtmidi/UNIX_JACK``, so mido, rtmidi,
foretell and the JACK tools in this process and in subprocesses (``jack_server.env``) all use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido
import pytest

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
START_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1
NAME_STEM = "foretell-test-"  # + the session's process id
# Frames per cycle at 48 kHz (43 ms). The dummy driver runs without real-time priority, and a
# client the scheduler has not run for a whole cycle misses it: JACK drops that cycle's MIDI for
# it. With 512 frames (11 ms) 5 of test_midi_jack's 14 tests lost messages at load 24; the IMPSY
# rig measured the same (``foretell.bench.impsy_rig.RIG_PERIOD``).
PERIOD = 2048
CYCLE_S = PERIOD / 48000


@dataclass
class JackServer:
    """A running dummy JACK server and helpers to make and wire ports on it."""

    name: str
    env: dict[str, str]  # the environment for subprocesses that should use this server
    _opened: list[Any] = field(default_factory=list)

    def backend(self) -> Any:
        """mido's rtmidi backend on JACK."""
        return mido.Backend(JACK_BACKEND, load=True)

    def output(self, name: str) -> Any:
        """A performer's virtual output port, ``NAME:NAME`` in JACK (closed after the test)."""
        port = self.backend().open_output(name, virtual=True, client_name=name)
        self._opened.append(port)
        return port

    def input(self, name: str) -> Any:
        """A virtual input port that records what reaches it (``port.iter_pending()``)."""
        port = self.backend().open_input(name, virtual=True, client_name=name)
        self._opened.append(port)
        return port

    def jack(self, tool: str, *args: str) -> str:
        """Run a JACK tool (``jack_lsp``, ``jack_connect``, ...) on this server; its stdout."""
        done = subprocess.run(
            [tool, *args], env=self.env, capture_output=True, text=True, timeout=10, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def ports(self) -> list[str]:
        """Every port on the server (``jack_lsp``)."""
        return self.jack("jack_lsp").splitlines()

    def connected(self, port: str) -> list[str]:
        """The ports ``port`` is connected to (``jack_lsp -c``)."""
        lines = self.jack("jack_lsp", "-c", port).splitlines()
        return [line.strip() for line in lines[1:] if line.startswith((" ", "\t"))]

    def connect(self, source: str, destination: str) -> None:
        self.jack("jack_connect", source, destination)

    def disconnect(self, source: str, destination: str) -> None:
        self.jack("jack_disconnect", source, destination)

    def wait_for_port(self, part: str, timeout: float = 5.0) -> str:
        """The first port whose name contains ``part``, once it exists."""
        end = time.monotonic() + timeout
        while True:
            found = [p for p in self.ports() if part in p]
            if found or time.monotonic() > end:
                break
            time.sleep(0.05)
        assert found, f"no JACK port named like {part!r} in {self.ports()}"
        return found[0]

    def close_ports(self) -> None:
        for port in self._opened:
            port.close()
        self._opened.clear()


def _die_with_parent() -> None:
    """In the child: ask Linux to end jackd if the test session dies without stopping it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _reclaim_dead_servers(jackd: str, env: dict[str, str]) -> None:
    """Free the registry entries of test servers whose session died without stopping them.

    JACK keeps at most 8 servers in its registry and reclaims a dead one's entry only when a
    server of the same name starts; so each dead name (its socket file is left in /dev/shm)
    is started once and stopped cleanly."""
    for socket_file in Path("/dev/shm").glob(f"jack_{NAME_STEM}*_0_0"):
        pid = socket_file.name.removeprefix(f"jack_{NAME_STEM}").removesuffix("_0_0")
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        started = _start(
            jackd, f"{NAME_STEM}{pid}", {**env, "JACK_DEFAULT_SERVER": NAME_STEM + pid}
        )
        if not isinstance(started, str):
            started[0].terminate()
            started[0].wait(10)
            started[1].close()
        with contextlib.suppress(OSError):
            socket_file.unlink()


def _start(jackd: str, name: str, env: dict[str, str]) -> tuple[Any, Any] | str:
    """jackd with the dummy driver under ``name``, once it answers; or why it did not start."""
    # Not --sync: in synchronous mode jackd 1.9 deadlocks once a client dies without closing
    # (ClientKill waits for a cycle that waits for the dead client), and every later client
    # open hangs; seen here as whole runs stalled.
    command = [jackd, "--no-realtime", "-t", "10000", "-n", name, "-d", "dummy"]
    command += ["-r", "48000", "-p", str(PERIOD)]
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (jackd talks on every client: no pipe)
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
    )
    end = time.monotonic() + START_TIMEOUT
    while not _answers(env):
        if process.poll() is not None or time.monotonic() > end:
            process.kill()
            process.wait()
            log.seek(0)
            lines = [x for x in log.read().strip().splitlines() if "COPYRIGHT" not in x.upper()]
            log.close()
            return f"{name}: {' / '.join(lines[-2:]) or 'no output'}"
        time.sleep(0.05)
    return process, log


def _answers(env: dict[str, str]) -> bool:
    """Whether the server named in ``env`` answers (a hung one counts as there)."""
    try:
        done = subprocess.run(["jack_lsp"], env=env, capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return True
    return done.returncode == 0


@pytest.fixture
def jack_server(jack_session: JackServer) -> Iterator[JackServer]:
    """The session's JACK server; the ports a test opens with it are closed after the test
    (every JACK client costs the server each cycle, and this machine has two cores)."""
    yield jack_session
    jack_session.close_ports()


@pytest.fixture(scope="session")
def jack_session() -> Iterator[JackServer]:
    """A dummy JACK server for the whole session (see the module docstring)."""
    jackd = shutil.which("jackd")
    if jackd is None or shutil.which("jack_lsp") is None:
        pytest.skip("jackd not installed (Debian: jackd2); MIDI over real ports untested")
    name = f"{NAME_STEM}{os.getpid()}"
    settings = {
        "JACK_DEFAULT_SERVER": name,
        "JACK_NO_START_SERVER": "1",
        "MIDO_BACKEND": JACK_BACKEND,
    }
    env = {**os.environ, **settings}
    _reclaim_dead_servers(jackd, env)
    started = _start(jackd, name, env)
    if isinstance(started, str):
        pytest.skip(f"jackd did not start: {started}")
    process, log = started
    server = JackServer(name, env)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in settings.items():
            patch.setenv(key, value)
        try:
            yield server
        finally:
            server.close_ports()
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
