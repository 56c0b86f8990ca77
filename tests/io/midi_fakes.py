"""List-backed stand-ins for mido's backend and ports, and an inbox that records: MIDI without
hardware (rtmidi calls back on threads of its own; ``FakeInput.play`` does too). Real ports are
on a dummy JACK server (``tests/jack.py``)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import mido
from mido.ports import BaseOutput


class FakeInput:
    def __init__(self, name: str) -> None:
        self.name = name
        self.callback: Any = None
        self.closed = False

    def play(self, *messages: mido.Message) -> None:
        """Deliver from a thread of its own, as rtmidi does (to the callback, if one is set)."""
        thread = threading.Thread(
            target=lambda: [self.callback and self.callback(m) for m in messages]
        )
        thread.start()
        thread.join()

    def close(self) -> None:
        self.closed = True


class FakeOutput(BaseOutput):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.sent: list[mido.Message] = []

    def _send(self, message: mido.Message) -> None:
        self.sent.append(message)


class FakeBackend:
    """mido's backend interface, list-backed: ALSA-style names with client:port numbers."""

    name, api = "fake", None

    def __init__(self) -> None:
        self.inputs = {"X-TOUCH MINI 20:0": FakeInput("X-TOUCH MINI 20:0")}
        self.outputs = {
            "X-TOUCH MINI 20:1": FakeOutput("X-TOUCH MINI 20:1"),
            "Synth 24:0": FakeOutput("Synth 24:0"),
        }
        self.opened: Counter[str] = Counter()  # times each port was opened

    def get_input_names(self) -> list[str]:
        return list(self.inputs)

    def get_output_names(self) -> list[str]:
        return list(self.outputs)

    def open_input(self, name: str, virtual: bool = False, **kwargs: Any) -> FakeInput:
        self.opened[name] += 1
        if virtual:
            self.inputs[name] = FakeInput(name)
        return self.inputs[name]

    def open_output(self, name: str, virtual: bool = False, **kwargs: Any) -> FakeOutput:
        self.opened[name] += 1
        if virtual:
            self.outputs[name] = FakeOutput(name)
        return self.outputs[name]


class ListInbox:
    def __init__(self) -> None:
        self.inputs: list[tuple[tuple[float, ...], bool]] = []

    def on_input(self, values: Any, *, answer: bool = True, guest: bool = False) -> None:
        self.inputs.append((tuple(values), answer))

    def on_command(self, command: Any) -> None:
        raise AssertionError("MIDI sends no commands")

    def on_reject(self, kind: str, detail: str) -> None:
        raise AssertionError(f"unexpected reject {kind}: {detail}")
