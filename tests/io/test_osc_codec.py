"""The OSC codec and router: pure functions, no sockets."""

from __future__ import annotations

import struct

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from foretell import commands as control
from foretell.errors import OscError
from foretell.io.osc import OscRouter, OscRoutes, Rejected, decode_packet, deliver, encode_floats


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


def _router(*routes: OscRoutes) -> tuple[OscRouter, list[RecordingInbox]]:
    router, inboxes = OscRouter(), []
    for r in routes:
        inboxes.append(RecordingInbox())
        router.add(r, inboxes[-1])
    return router, inboxes


def test_routes() -> None:
    router, _ = _router(OscRoutes())
    assert router.route("/interface", [0.5, 0.5]) == (0, [0.5, 0.5])
    assert router.route("/foretell/mode", ["polyphony"]) == (0, control.SetMode("filter"))
    assert router.route("/impsy/pitemp", [0.5]) == (0, control.SetSetting("pitemp", 0.5))
    assert router.route("/impsy/load", ["x.ftm"])[1].kind == "unknown_address"  # type: ignore[union-attr]
    assert router.route("/foretell/dance", [])[1].kind == "bad_command"  # type: ignore[union-attr]
    router, _ = _router(OscRoutes(impsy_control=False))
    assert isinstance(router.route("/impsy/mode", ["filter"])[1], Rejected)


def test_instruments_share_a_port_by_address() -> None:
    lead = OscRoutes("/lead/interface", "/foretell/lead", impsy_control=True)
    bass = OscRoutes("/bass/interface", "/foretell/bass", impsy_control=True)
    router, _ = _router(lead, bass)
    assert router.route("/bass/interface", [0.1]) == (1, [0.1])
    assert router.route("/lead/interface", [0.2]) == (0, [0.2])
    assert router.route("/foretell/bass/mode", ["listen"]) == (1, control.SetMode("listen"))
    assert router.route("/impsy/reset", []) == (0, control.Reset())  # IMPSY names no one: first
    assert router.route("/interface", [0.1])[0] == 0  # nobody's: reported to the first
    with pytest.raises(OscError, match="share /lead/interface"):
        router.add(OscRoutes("/lead/interface", "/foretell/x"), RecordingInbox())


def test_a_shared_batch_answers_each_instruments_newest_input() -> None:
    lead = OscRoutes("/lead/interface", "/foretell/lead")
    bass = OscRoutes("/bass/interface", "/foretell/bass")
    router, (a, b) = _router(lead, bass)
    batch = [
        _message("/lead/interface", 0.1),
        _message("/bass/interface", 0.2),
        _message("/lead/interface", 0.3),
        _message("/foretell/bass/pitemp", "hot"),
        b"junk",
    ]
    deliver(router, batch)
    assert a.calls == [
        ("reject", "malformed", None),
        ("input", [pytest.approx(0.1)], False),
        ("input", [pytest.approx(0.3)], True),
    ]
    assert b.calls == [("reject", "bad_command", None), ("input", [pytest.approx(0.2)], True)]


class RecordingInbox:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object, object]] = []

    def on_input(self, values: object, *, answer: bool = True, guest: bool = False) -> None:
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
    router = OscRouter()
    router.add(OscRoutes(), inbox)
    deliver(router, batch)
    assert inbox.calls == [
        ("reject", "malformed", None),
        ("reject", "unknown_address", None),
        ("reject", "bad_command", None),
        ("input", [pytest.approx(0.1), pytest.approx(0.2)], False),
        ("command", control.SetMode("listen"), None),
        ("input", [pytest.approx(0.3), pytest.approx(0.4)], True),
    ]
