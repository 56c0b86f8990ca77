"""The live-settings table: the one source of the verbs, their checks, config keys and docs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from foretell import commands
from foretell.cli import cli
from foretell.cli.run_commands import build_config
from foretell.config import RunConfig, config_from_dict, override
from foretell.config.dashboard import Preset
from foretell.errors import ConfigError, ControlError
from foretell.perform.build import config_value, resolve, settings_from
from foretell.perform.instrument import Settings
from foretell.settings import BY_VERB, SETTINGS, Setting, docs_table

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


# -- one row gives every door its key -------------------------------------------------------------


def _other(setting: Setting) -> float | bool:
    """A valid value of ``setting`` that is not its default."""
    if setting.kind == "flag":
        return not setting.default
    assert setting.allowed is not None
    return setting.allowed.high


def _beyond(setting: Setting) -> float | bool:
    """A value of ``setting``'s config key that must be refused."""
    if setting.kind == "flag":
        return 2
    assert setting.allowed is not None
    return setting.allowed.high + 1


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.verb)
def test_each_setting_is_a_checked_key_of_its_config_section(setting: Setting) -> None:
    config = config_from_dict({setting.section: {setting.key: _other(setting)}})
    assert config_value(config, setting.config_key) == _other(setting)
    assert getattr(settings_from(config), setting.field) == _other(setting)
    with pytest.raises(ConfigError, match=rf"^{setting.config_key} = .* is invalid"):
        config_from_dict({setting.section: {setting.key: _beyond(setting)}})


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.verb)
def test_an_instrument_key_of_each_setting_overrides_and_otherwise_inherits(
    setting: Setting,
) -> None:
    top = 0.5 if setting.kind == "number" else True
    config = config_from_dict(
        {
            setting.section: {setting.key: top},
            "instrument": {"a": {setting.key: _other(setting)}, "b": {}},
        }
    )
    a, b = (resolve(config, inst, i) for i, inst in enumerate(config.instrument))
    assert config_value(a, setting.config_key) == _other(setting)
    assert config_value(b, setting.config_key) == top


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.verb)
def test_each_setting_has_its_command_line_option(setting: Setting) -> None:
    shown = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    assert setting.option.replace("/", " / ") in shown and setting.help in shown
    passed: dict[str, Any] = {setting.field: _other(setting)}  # as the option passes it
    given = build_config(**passed)
    assert config_value(given, setting.config_key) == _other(setting)
    if setting.kind == "number":  # the option's value reaches the config key's check
        result = CliRunner().invoke(cli, ["run", setting.option, str(_beyond(setting))])
        assert f"{setting.config_key} = {float(_beyond(setting))!r} is invalid" in str(
            result.exception
        )


def test_a_preset_holds_every_number_setting_checked_by_its_range() -> None:
    numbers = [s for s in SETTINGS if s.kind == "number"]
    calm = Preset("calm", **{s.key: _other(s) for s in numbers})
    assert calm.values() == {s.key: _other(s) for s in numbers}
    assert Preset("plain").values() == {s.key: s.default for s in numbers}
    for setting in numbers:
        with pytest.raises(ConfigError, match=f"preset 'x': {setting.verb} must be"):
            Preset("x", **{setting.key: _beyond(setting)})
