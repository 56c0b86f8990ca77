"""The live-settings table: the one source of the verbs, their checks, config keys and docs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from foretell import commands
from foretell.config import RunConfig, override
from foretell.errors import ControlError
from foretell.perform.build import config_value, settings_from
from foretell.perform.instrument import Settings
from foretell.settings import BY_VERB, SETTINGS, docs_table

DOCS = Path(__file__).parents[1] / "docs" / "performance.md"


def test_each_setting_defaults_agree_with_the_config_and_the_instrument() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    for setting in SETTINGS:
        assert fields[setting.field] == setting.default, setting.verb
        assert config_value(RunConfig(), setting.config_key) == setting.default, setting.verb


def test_a_config_key_sets_its_setting_at_start() -> None:
    config = override(RunConfig(), "model", pi_temp=0.25, sigma_temp=0.5, activity_temp=2.0)
    config = override(config, "interaction", timescale=2.0, threshold=3.0, input_thru=True)
    settings = settings_from(config)
    values = {s.verb: getattr(settings, s.field) for s in SETTINGS}
    assert values == {
        "pitemp": 0.25,
        "sigmatemp": 0.5,
        "activitytemp": 2.0,
        "timescale": 2.0,
        "threshold": 3.0,
        "thru": True,
    }


@pytest.mark.parametrize("verb", list(BY_VERB))
def test_every_verb_is_one_checked_set_setting(verb: str) -> None:
    flag = BY_VERB[verb].kind == "flag"
    good, value = ("on", True) if flag else (1.0, 1.0)
    assert commands.parse_command(verb, [good]) == commands.SetSetting(verb, value)
    assert verb in commands.VERBS
    for bad in ([], ["x"], [1.0, 2.0]) if flag else ([], [1e300], ["x"]):
        with pytest.raises(ControlError, match=verb):
            commands.parse_command(verb, bad)


def test_the_docs_show_the_table_as_the_code_has_it() -> None:
    text = DOCS.read_text(encoding="utf-8")
    begin, end = "<!-- settings table: begin -->\n", "\n<!-- settings table: end -->"
    shown = text[text.index(begin) + len(begin) : text.index(end)]
    assert shown == docs_table(), "regenerate docs/performance.md's table from docs_table()"


def test_impsy_verbs_are_the_ones_impsy_has() -> None:
    assert commands.IMPSY_VERBS == ("mode", "pause", "reset", "pitemp", "sigmatemp", "timescale")
