"""The run configuration: TOML in, one line naming a bad key or value, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from foretell.config import RunConfig, config_from_dict, load_config, override
from foretell.errors import ConfigError

EXAMPLES = Path(__file__).parents[2] / "examples" / "configs"


def test_defaults_are_impsys_ports() -> None:
    config = RunConfig()
    assert (config.osc.listen_port, config.osc.send_port) == (6000, 6001)
    assert config.osc.input_address == "/interface" and config.osc.output_address == "/prediction"


def test_file_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stage.toml"
    path.write_text('[model]\nfile = "models/a.ftm"\n[interaction]\nmode = "polyphony"\n')
    config = load_config(path)
    assert config.model.file == tmp_path / "models" / "a.ftm"
    assert config.interaction.mode == "polyphony"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"interaction": {"mode": "dance"}}, "interaction.mode = 'dance' is invalid .*'filter'"),
        ({"interaction": {"treshold": 1}}, "unknown key interaction.treshold .*threshold"),
        ({"osc": {"listen_port": "6000"}}, "osc.listen_port = '6000' is invalid .*integer"),
        ({"osc": {"listen_port": 70000}}, "osc.listen_port = 70000"),
        ({"osc": {"input_address": "in"}}, "osc.input_address = 'in' .*starts with /"),
        ({"osc": {"input_address": "/my pad"}}, "osc.input_address = '/my pad' .*no spaces"),
        ({"midl": {}}, r"unknown section \[midl\] .*midi"),
        ({"model": {"pi_temp": -1}}, "model.pi_temp"),
        ({"log": {"enabled": "yes"}}, "log.enabled = 'yes' .*true or false"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data)  # type: ignore[arg-type]


def test_bad_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_override_applies_only_given_values() -> None:
    config = override(RunConfig(), "interaction", mode="battle", threshold=None)
    assert config.interaction.mode == "battle" and config.interaction.threshold == 0.1


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_configs_load(path: Path) -> None:
    load_config(path)
