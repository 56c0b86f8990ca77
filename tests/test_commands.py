"""Commands from their verbs and arguments, and modes by name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from foretell import commands as control
from foretell.errors import ControlError
from foretell.modes import MODES, get_mode


@pytest.mark.parametrize(
    ("verb", "args", "expected"),
    [
        ("mode", ["polyphony"], control.SetMode("filter")),
        ("mode", ["CallResponse"], control.SetMode("callresponse")),
        ("pause", [1], control.SetPause(True)),
        ("pause", [0.0], control.SetPause(False)),
        ("pause", [], control.SetPause(None)),
        ("reset", [], control.Reset()),
        ("reset", [1], control.Reset()),
        ("pitemp", [0.5], control.SetSetting("pitemp", 0.5)),
        ("sigmatemp", [0], control.SetSetting("sigmatemp", 0.0)),
        ("timescale", [2], control.SetSetting("timescale", 2.0)),
        ("threshold", [0.25], control.SetSetting("threshold", 0.25)),
        ("thru", ["on"], control.SetSetting("thru", True)),
        ("load", ["m.ftm"], control.LoadModel("m.ftm")),
        ("load", ["versions/v2.ftm"], control.LoadModel("versions/v2.ftm")),
        ("take", ["verse-2"], control.NewTake("verse-2")),
    ],
)
def test_commands_parse(verb: str, args: list[object], expected: control.Command) -> None:
    assert control.parse_command(verb, args) == expected


@pytest.mark.parametrize(
    ("verb", "args", "message"),
    [
        ("mode", ["dance"], "valid: listen, filter"),
        ("mode", [3], "one string"),
        ("pitemp", [-1.0], r"pitemp must be a finite number in 0\.\.10"),
        ("pitemp", ["hot"], "one number"),
        ("timescale", [0.0], r"timescale must be a finite number in 0\.05\.\.20"),
        ("timescale", [1e-9], r"0\.05\.\.20"),
        ("timescale", [1e30], r"0\.05\.\.20"),
        ("sigmatemp", [1e12], r"sigmatemp must be a finite number in 0\.\.10"),
        ("sigmatemp", [float("nan")], "finite"),
        ("threshold", [61.0], r"threshold must be a finite number in 0\.\.60 s"),
        ("threshold", [float("inf")], "finite"),
        ("rollback", [1.5], "version number"),
        ("rollback", [float("inf")], "version number"),
        ("load", ["/etc/passwd"], "name of a model file in the models folder"),
        ("load", ["../secret.ftm"], "name of a model file"),
        ("load", ["~nosuchuser/x"], "name of a model file"),
        ("load", ["notes.txt"], "not a .ftm model file"),
        ("thru", [], "0 or 1"),
        ("pause", [1, 2], "pause takes 0 or 1"),
        ("pause", ["maybe"], "pause takes 0 or 1"),
        ("jump", [], "unknown command 'jump'"),
        ("take", ["../up"], "take: take '../up' is not a plain name"),
        ("take", [".hidden"], "not a plain name"),
        ("take", ["x" * 65], "longer than 64"),
        ("take", [], "take takes one string"),
    ],
)
def test_bad_commands_say_why(verb: str, args: list[object], message: str) -> None:
    with pytest.raises(ControlError, match=message):
        control.parse_command(verb, args)


def test_every_mode_is_data() -> None:
    assert set(MODES) == {"listen", "filter", "callresponse", "battle", "useronly"}
    assert get_mode("polyphony") is MODES["filter"]
    assert not MODES["useronly"].needs_model and MODES["battle"].generate == "always"


@pytest.mark.parametrize(
    ("verb", "args", "build"),
    [
        ("range", [0, 0.9, 0.1], lambda: control.SetRange(0, 0.9, 0.1)),
        ("range", [1.5, 0.1, 0.2], lambda: control.SetRange(1.5, 0.1, 0.2)),  # type: ignore[arg-type]
        ("range", [-1, 0.1, 0.2], lambda: control.SetRange(-1, 0.1, 0.2)),
        ("range", [0, -0.5, 0.2], lambda: control.SetRange(0, -0.5, 0.2)),
        ("hold", [2, 1.5], lambda: control.Hold(2, 1.5)),
        ("hold", [2, float("nan")], lambda: control.Hold(2, float("nan"))),
        ("hold", [2, "x"], lambda: control.Hold(2, "x")),  # type: ignore[arg-type]
        ("release", [2000], lambda: control.Release(2000)),
        ("controltemp", [0, 11], lambda: control.SetControlTemp(0, 11)),
        ("dtrange", [1, 0.5], lambda: control.SetDtRange(1, 0.5)),
        ("dtrange", [0, 61], lambda: control.SetDtRange(0, 61)),
        ("pitemp", [-1.0], lambda: control.SetSetting("pitemp", -1.0)),
        ("timescale", [True], lambda: control.SetSetting("timescale", True)),
        ("thru", ["maybe"], lambda: control.SetSetting("thru", "maybe")),  # type: ignore[arg-type]
        ("mode", ["dance"], lambda: control.SetMode("dance")),
        ("mode", [3], lambda: control.SetMode(3)),  # type: ignore[arg-type]
        ("pause", ["maybe"], lambda: control.SetPause("maybe")),  # type: ignore[arg-type]
        ("load", ["../secret.ftm"], lambda: control.LoadModel("../secret.ftm")),
        ("load", ["notes.txt"], lambda: control.LoadModel("notes.txt")),
        ("take", ["../up"], lambda: control.NewTake("../up")),
        ("rollback", [1.5], lambda: control.Rollback(1.5)),  # type: ignore[arg-type]
        ("rollback", [-1], lambda: control.Rollback(-1)),
    ],
)
def test_a_command_built_in_code_is_checked_as_parsed(
    verb: str, args: list[object], build: Callable[[], control.Command]
) -> None:
    """Construction and parsing cannot disagree: the same rule, the same one-line message."""
    with pytest.raises(ControlError) as parsed:
        control.parse_command(verb, args)
    with pytest.raises(ControlError) as built:
        build()
    assert str(built.value) == str(parsed.value)


def test_a_command_built_in_code_keeps_the_values_the_parser_would() -> None:
    assert control.SetRange(2.0, 0, 1) == control.parse_command("range", [2, 0, 1])  # type: ignore[arg-type]
    assert isinstance(control.SetRange(2.0, 0, 1).control, int)  # type: ignore[arg-type]
    assert control.SetSetting("thru", 1) == control.parse_command("thru", [1])
    assert control.SetPause(0) == control.SetPause(False)  # type: ignore[arg-type]
    assert control.Rollback(3) == control.parse_command("rollback", [3.0])
    with pytest.raises(ControlError, match="'nope' is not a live setting"):
        control.SetSetting("nope", 1.0)
