"""A rig for an IMPSY MIDI config on a dummy JACK server: the performer plays while the model
plays on the same devices, and nothing the performer plays may be lost.

``run_rig(config, env)`` (``env``: the environment naming the JACK server) sets up, each in a
process of its own (a JACK callback into Python must not wait on a process that is closing a
port, and a performer is a device of its own), one recorder per output device (a virtual input
named like the device), the performance (foretell running the config: its own addresses, but a
free OSC port and a log folder of its own), and the performer, a virtual output named like
each input device, which plays ``phrases`` phrases of ``notes`` messages, every input entry in
turn, with values the model's clipped outputs often take (0, 127, 64), 10 ms and 130 ms apart in
turn and 0.3 s after each phrase: IMPSY's configs answer after 0.1 s of silence
(call-response), so the model plays on the performer's devices between the performer's
messages, right up to the next one. It reports how many of the performer's messages the log
holds and which of the config's output entries the recorders heard (``RigResult``).

``python -m foretell.bench.impsy_rig perform CONFIG COUNT``, ``... play JSON`` and ``... record
NAME`` are those processes; ``dummy_jack()`` starts a JACK server with the dummy driver for
``foretell bench impsy-configs --rig``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mido

if TYPE_CHECKING:
    from foretell.events import Event
    from foretell.model.fileformat import ModelFile

JACK = "mido.backends.rtmidi/UNIX_JACK"
GAPS = (0.01, 0.13)  # seconds after each message, in turn: the model answers in the longer gaps
PAUSE = 0.3  # seconds after each phrase (IMPSY's configs answer after 0.1 s of silence)
VALUES = (0, 127, 64, 1, 126, 100, 27)  # CC values, the model's saturated ones first
# Frames per JACK cycle (at 48 kHz, 43 ms). The dummy driver runs without real-time priority: on
# a shared 2-core machine at load 12 to 16, a client that the scheduler has not run for a whole
# 512-frame cycle (11 ms) misses it, and JACK drops that cycle's MIDI for it: 3, 8 and 2 of 120
# performer messages never reached foretell in 3 runs, none in 2 runs with 2048 frames (side by
# side, load 12 to 14).
RIG_PERIOD = 2048
RIG_MODEL_DT = 0.05  # seconds: the rig's model plays at about a trained IMPSY model's pace


@dataclass(frozen=True)
class RigResult:
    """What the performer played and the log kept; the output entries heard per device."""

    config: str
    played: int
    logged: int
    outputs: int  # mapped output entries (note_velocity entries send nothing of their own)
    seen: int
    unseen: tuple[str, ...] = ()
    model_events: int = 0
    heard: int = 0  # the performer's messages foretell's MIDI inputs received
    echoes: int = 0  # of those, dropped as echoes of what was sent

    @property
    def logged_share(self) -> float:
        return self.logged / self.played if self.played else 0.0

    def describe(self) -> str:
        missing = f" (not seen: {', '.join(self.unseen)})" if self.unseen else ""
        return (
            f"performer's messages logged {self.logged}/{self.played} "
            f"({100 * self.logged_share:.1f} %; {self.heard} reached foretell, {self.echoes} "
            f"taken for echoes), mapped outputs seen {self.seen}/{self.outputs}{missing}, "
            f"{self.model_events} model events"
        )


def performer_messages(
    inputs: dict[str, list[list[Any]]], phrases: int, notes: int
) -> list[list[tuple[str, str]]]:
    """``phrases`` lists of ``(device, hex)``: every input entry of every device in turn."""
    entries = [(device, entry) for device, listed in inputs.items() for entry in listed]
    played: list[list[tuple[str, str]]] = []
    k = 0
    for _ in range(phrases):
        phrase = []
        for _ in range(notes):
            device, entry = entries[k % len(entries)]
            phrase.append((device, _message(entry, k).hex()))
            k += 1
        played.append(phrase)
    return played


def _message(entry: list[Any], k: int) -> mido.Message:
    channel = int(entry[1]) - 1
    if entry[0] in ("note_on", "note_velocity"):
        return mido.Message("note_on", channel=channel, note=36 + (k * 7) % 60, velocity=90)
    if entry[0] == "pitch_bend":
        return mido.Message("pitchwheel", channel=channel, pitch=(k * 997) % 16384 - 8192)
    return mido.Message(
        "control_change", channel=channel, control=int(entry[2]), value=VALUES[k % len(VALUES)]
    )


# -- the processes ------------------------------------------------------------------------------


def record(name: str) -> None:
    """A virtual input ``name``: prints ``ready``, then each message heard as hex."""
    backend = mido.Backend(JACK, load=True)
    with backend.open_input(name, virtual=True, client_name=name) as port:
        print("ready", flush=True)
        for message in port:
            print(message.hex(), flush=True)


def play(phrases_json: str) -> None:
    """The performer's process: a virtual output per device; ``ready``, then on a ``go`` line
    the phrases (``GAPS`` apart in turn, ``PAUSE`` after each), then ``played``."""
    phrases: list[list[tuple[str, str]]] = json.loads(phrases_json)
    backend = mido.Backend(JACK, load=True)
    devices = sorted({device for phrase in phrases for device, _ in phrase})
    outputs = {d: backend.open_output(d, virtual=True, client_name=d) for d in devices}
    print("ready", flush=True)
    sys.stdin.readline()
    for phrase in phrases:
        for k, (device, data) in enumerate(phrase):
            outputs[device].send(mido.Message.from_hex(data))
            time.sleep(GAPS[k % len(GAPS)])
        time.sleep(PAUSE)
    print("played", flush=True)
    sys.stdin.readline()  # the ports stay up until the performance has stopped
    for port in outputs.values():
        port.close()


async def _perform(config: Any, played: int) -> dict[str, int]:
    """A library run (``foretell.run``) of ``config``: ``started`` once its ports are up, then,
    after a line on stdin, until ``played`` inputs came (5 s at most); the events it played."""
    from foretell.run import Running, run_async

    counts = {"user": 0, "model": 0}
    ran: list[Running] = []

    def count(_: str, event: Event) -> None:
        counts[event.source] += 1

    async def performance(running: Running) -> None:
        try:
            await asyncio.sleep(1.0)  # the engine's ports join the JACK graph
            print("started", flush=True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.readline)  # the performer has played
            end = time.monotonic() + 5.0
            while counts["user"] < played and time.monotonic() < end:
                await asyncio.sleep(0.02)
        finally:
            running.stop()

    tasks: list[asyncio.Task[None]] = []  # held until the run ends

    def on_start(running: Running) -> None:
        ran.append(running)
        running.session.engine.add_listener(count)
        tasks.append(asyncio.get_running_loop().create_task(performance(running)))

    await run_async(config, on_start=on_start)
    await asyncio.sleep(0.2)  # the note-offs at stop cross the JACK graph
    sources = ran[0].session.transports.sources
    counts["heard"] = sum(getattr(source, "received", 0) for source in sources)
    counts["echoes"] = sum(
        n
        for source in sources
        for reason, n in getattr(source, "ignored", {}).items()
        if reason.startswith("echo")
    )
    return counts


def perform(config_path: str, played: str) -> None:
    """The performance process: ``started`` once its ports are up; after a line on stdin (the
    performer is done) it waits for ``played`` inputs (5 s at most), stops, and prints the user
    and model event counts as JSON."""
    from foretell.config import override
    from foretell.config.transports import SerialConfig
    from foretell.impsy.config import import_model, read_run_config

    config = import_model(read_run_config(config_path))
    port = _free_port()
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=port)
    config = override(config, "osc", send_host="127.0.0.1")
    config = override(config, "log", dir=Path(config_path).parent / "logs", enabled=True)
    config = override(config, "model", seed=0)
    config = dataclasses.replace(config, serial=SerialConfig())
    counts = asyncio.run(_perform(config, int(played)))
    print(json.dumps(counts), flush=True)


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- driving them -------------------------------------------------------------------------------


def _process(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "foretell.bench.impsy_rig", *args],
        env=env,
        text=True,
        **kwargs,
    )


def _recorder(env: dict[str, str], name: str) -> subprocess.Popen[str]:
    """A recorder once its port is up (JACK sometimes refuses a client opened right after
    another: three tries)."""
    for _ in range(3):
        process = _process(env, "record", name, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert process.stdout is not None
        if process.stdout.readline().strip() == "ready":
            return process
        process.kill()
        process.wait()
        time.sleep(0.5)
    raise RuntimeError(f"JACK refused a port named {name!r} three times")


def _heard(process: subprocess.Popen[str]) -> list[mido.Message]:
    process.terminate()
    out, _ = process.communicate(timeout=10)
    return [mido.Message.from_hex(line) for line in out.split("\n") if line.strip()]


def _seen(entry: list[Any], heard: list[mido.Message]) -> bool:
    channel = int(entry[1]) - 1
    kinds = {"note_on": "note_on", "note_velocity": "note_on", "pitch_bend": "pitchwheel"}
    kind = kinds.get(entry[0], "control_change")
    return any(
        m.type == kind
        and m.channel == channel
        and (kind != "control_change" or m.control == int(entry[2]))
        and (kind != "note_on" or m.velocity > 0)
        for m in heard
    )


def _line(process: subprocess.Popen[str], want: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != want:
        raise RuntimeError(f"expected {want!r} from the rig, got {line!r}")


def _say(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


def run_rig(
    config: Path, env: dict[str, str], folder: Path, phrases: int = 12, notes: int = 10
) -> RigResult:
    """Run the rig (see the module docstring) for the IMPSY config ``config``, in ``folder``."""
    data = tomllib.loads(config.read_text())
    midi = data["midi"]
    path = _prepared(config, data, folder)
    played = performer_messages(midi["input"], phrases, notes)
    count = sum(len(p) for p in played)
    pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
    recorders = {device: _recorder(env, device) for device in midi["out_device"]}
    player = _process(env, "play", json.dumps(played), stderr=subprocess.DEVNULL, **pipes)
    show = None
    try:
        _line(player, "ready")
        show = _process(env, "perform", str(path), str(count), stderr=subprocess.PIPE, **pipes)
        _line(show, "started")
        _say(player, "go")
        _line(player, "played")
        out, err = show.communicate("done\n", timeout=60)
    finally:
        if show is not None and show.poll() is None:
            show.kill()
        with contextlib.suppress(OSError, ValueError):
            _say(player, "stop")
        try:
            player.wait(10)
        except subprocess.TimeoutExpired:
            player.kill()
            player.wait()
        heard = {device: _heard(process) for device, process in recorders.items()}
    if show.returncode != 0:
        raise RuntimeError(f"{config.name}: the performance failed: {err.strip()[-600:]}")
    counts = json.loads(out.strip().splitlines()[-1])
    (log,) = (folder / "logs").glob("*-mdrnn.log")
    logged = sum(",interface," in line for line in log.read_text().splitlines())
    outputs, unseen = 0, []
    for device, entries in midi["output"].items():
        for i, entry in enumerate(entries[: data["model"]["dimension"] - 1]):
            outputs += 1
            if not _seen(entry, heard.get(device, [])):
                unseen.append(f"{device}[{i}]")
    return RigResult(
        config.name,
        count,
        logged,
        outputs,
        outputs - len(unseen),
        tuple(unseen),
        counts["model"],
        counts["heard"],
        counts["echoes"],
    )


def random_impsy_model(dimension: int, median_dt: float = math.exp(-4)) -> ModelFile:
    """A small model of ``dimension`` with random weights (mapping does not need a trained one)
    whose intervals are about ``median_dt`` seconds."""
    from foretell.model.random import random_model

    info = {"name": "random", "source": "bench impsy-configs"}
    return random_model(dimension, events=200, median_dt=median_dt, info=info)


def _prepared(config: Path, data: dict[str, Any], folder: Path) -> Path:
    """The config in ``folder`` with a random model of its dimension where it names one."""
    from foretell.model.fileformat import save_model

    path = folder / config.name
    shutil.copyfile(config, path)
    model = data.get("model", {})
    if "file" in model:
        target = (folder / model["file"]).with_suffix(".ftm")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_model(target, random_impsy_model(int(model["dimension"]), RIG_MODEL_DT))
    return path


@contextlib.contextmanager
def dummy_jack(period: int = RIG_PERIOD) -> Iterator[dict[str, str] | None]:
    """A JACK server with the dummy driver for the rig (``period`` frames a cycle at 48 kHz): its
    environment, or ``None`` where ``jackd`` is not installed or does not start."""
    jackd = shutil.which("jackd")
    if jackd is None or shutil.which("jack_lsp") is None:
        yield None
        return
    name = f"foretell-bench-{os.getpid()}"
    env = {
        **os.environ,
        "JACK_DEFAULT_SERVER": name,
        "JACK_NO_START_SERVER": "1",
        "MIDO_BACKEND": JACK,
    }
    command = [jackd, "--no-realtime", "-t", "10000", "-n", name, "-d", "dummy"]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [*command, "-r", "48000", "-p", str(period)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            end = time.monotonic() + 10.0
            while not _answers(env):
                if process.poll() is not None or time.monotonic() > end:
                    yield None
                    return
                time.sleep(0.05)
            yield env
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


def _answers(env: dict[str, str]) -> bool:
    try:
        done = subprocess.run(["jack_lsp"], env=env, capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return True
    return done.returncode == 0


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2])
    elif sys.argv[1] == "play":
        play(sys.argv[2])
    else:
        perform(sys.argv[2], sys.argv[3])
