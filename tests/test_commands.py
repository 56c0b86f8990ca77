"""Commands from their verbs and arguments, and modes by name."""

from __future__ import annotations

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
