"""The OSC codec and router: pure functions, no sockets."""

from __future__ import annotations

import struct

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from foretell.errors import ControlError, OscError
from foretell.io.osc import OscRoutes, decode_packet, deliver, encode_floats
from foretell.perform import control


def _message(address: str, *args: object) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def test_encode_is_what_python_osc_builds() -> None:
    assert encode_floats("/prediction", [0.25, 0.5, 1.0]) == _message("/prediction", 0.25, 0.5, 1.0)
    assert decode_packet(encode_floats("/prediction", [0.25]))[0] == ("/prediction", [0.25])


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"/interface\0\0,fff\0\0\0\0\0\0", b"#bundle\0xx", b"\xff" * 16],
)
def test_malformed_packets_raise_osc_error(data: bytes) -> None:
    with pytest.raises(OscError, match="malformed OSC packet"):
        decode_packet(data)


def test_routes() -> None:
    routes = OscRoutes()
    assert routes.route("/interface", [0.5, 0.5]) == [0.5, 0.5]
    assert routes.route("/foretell/mode", ["polyphony"]) == control.SetMode("filter")
    assert routes.route("/impsy/pitemp", [0.5]) == control.SetPiTemp(0.5)
    with pytest.raises(OscError, match="unknown OSC address"):
        routes.route("/impsy/load", ["x.ftm"])  # IMPSY has no such verb
    with pytest.raises(ControlError):
        routes.route("/foretell/dance", [])
    with pytest.raises(OscError):
        OscRoutes(impsy_control=False).route("/impsy/mode", ["filter"])


class RecordingInbox:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, object]] = []

    def on_input(self, values: object, *, answer: bool = True) -> None:
        self.calls.append(("input", values, answer))

    def on_command(self, command: object) -> None:
        self.calls.append(("command", command, None))

    def on_reject(self, kind: str, detail: str) -> None:
        self.calls.append(("reject", kind, None))


def test_a_drained_batch_answers_only_its_newest_input_and_keeps_order() -> None:
    inbox = RecordingInbox()
    batch = [
        _message("/interface", 0.1, 0.2),
        b"junk",
        _message("/foretell/mode", "listen"),
        _message("/interface", 0.3, 0.4),
        _message("/nowhere", 1),
        _message("/foretell/pitemp", "hot"),
        struct.pack(">8s", b"#bundle\0") + bytes(8),  # an empty bundle: nothing in it
    ]
    deliver(inbox, OscRoutes(), batch)
    assert inbox.calls == [
        ("reject", "malformed", None),
        ("reject", "unknown_address", None),
        ("reject", "bad_command", None),
        ("input", [pytest.approx(0.1), pytest.approx(0.2)], False),
        ("command", control.SetMode("listen"), None),
        ("input", [pytest.approx(0.3), pytest.approx(0.4)], True),
    ]
