"""A row of the live settings' table becomes a checked key of a config section."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from foretell.config.live_keys import check_live_keys, live_keys
from foretell.errors import ConfigError
from foretell.limits import Range
from foretell.settings import Setting

WOBBLE = Setting(
    "wobble", "wobble", "number", 0.5, "interaction.wobble", Range(0.0, 2.0), False,
    "--wobble", "Wobble.", "how much it wobbles",
)  # fmt: skip
LOOSE = Setting(
    "loose", "loose", "flag", True, "interaction.loose", None, False,
    "--loose/--tight", "Loose.", "whether it is loose",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
@live_keys([WOBBLE, LOOSE])
class Section:
    name: str = "x"

    def __post_init__(self) -> None:
        check_live_keys(self, [WOBBLE, LOOSE], "interaction")


@dataclasses.dataclass(frozen=True)
@live_keys([WOBBLE, LOOSE], inherit=True)
class Inheriting:
    name: str = "x"


def test_a_new_row_is_a_typed_field_with_its_default() -> None:
    assert [f.name for f in dataclasses.fields(Section)] == ["name", "wobble", "loose"]
    assert typing.get_type_hints(Section) == {"name": str, "wobble": float, "loose": bool}
    assert (Section().wobble, Section().loose) == (0.5, True)  # type: ignore[attr-defined]
    assert Section(wobble=2.0).wobble == 2.0  # type: ignore[call-arg, attr-defined]


def test_a_number_outside_its_row_s_range_is_one_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^interaction.wobble = 2.5 is invalid \(expected a "):
        Section(wobble=2.5)  # type: ignore[call-arg]


def test_inheriting_keys_default_to_none() -> None:
    hints = typing.get_type_hints(Inheriting)
    assert hints["wobble"] == float | None and hints["loose"] == bool | None
    assert (Inheriting().wobble, Inheriting().loose) == (None, None)  # type: ignore[attr-defined]
