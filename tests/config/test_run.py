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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[model]\nseed = -1\n", r"model.seed = -1 is invalid \(expected an integer >= 0\)"),
        ("[interaction]\ntimescale = inf\n", r"interaction.timescale = inf is invalid"),
        ("[interaction]\ntimescale = 1e-9\n", r"timescale = 1e-09 is invalid .* 0.05..20"),
        ("[interaction]\nthreshold = nan\n", r"interaction.threshold = nan is invalid"),
        ("[model]\nsigma_temp = 1e12\n", r"model.sigma_temp = 1000000000000.0 is invalid"),
        ("[osc]\ncontrol_from = ['phone']\n", "osc.control_from entry 'phone' is not an IP"),
        ("[interaction]\ndimension = 100000\n", r"interaction.dimension = 100000 is invalid"),
    ],
)
def test_out_of_range_and_infinite_values_are_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "stage.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_directory_or_a_binary_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_config(tmp_path)
    binary = tmp_path / "stage.toml"
    binary.write_bytes(b"[model]\nfile = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(binary)


def test_control_from_takes_hosts_and_networks() -> None:
    sources = config_from_dict({"osc": {"control_from": ["192.168.1.20", "10.0.0.0/24"]}})
    allowed = sources.osc.control_sources
    assert allowed.allows("127.0.0.1") and allowed.allows("::1")
    assert allowed.allows("192.168.1.20") and allowed.allows("10.0.0.7")
    assert not allowed.allows("192.168.1.21") and not allowed.allows("not an address")
    assert RunConfig().osc.control_sources.describe() == "this machine only"
    assert config_from_dict({"osc": {"control_from": ["*"]}}).osc.control_sources.allows("8.8.8.8")


def test_every_registered_transport_is_a_section_of_a_run_and_of_an_instrument() -> None:
    import typing

    from foretell.config.instruments import InstrumentConfig
    from foretell.config.transports import TRANSPORTS

    run_hints = typing.get_type_hints(RunConfig)
    instrument_hints = typing.get_type_hints(InstrumentConfig)
    for kind, entry in TRANSPORTS.items():
        assert run_hints[kind] is entry.section
        assert instrument_hints[kind] == entry.section | None
        assert not entry.section().enabled  # each is off until it names something to open
    sections = {h for h in run_hints.values() if h in {e.section for e in TRANSPORTS.values()}}
    assert len(sections) == len(TRANSPORTS)


def test_a_transport_section_in_an_instrument_table_is_named_in_full() -> None:
    data = {"instrument": {"lead": {"serial": {"baud": 0}}}}
    with pytest.raises(ConfigError, match=r"^instrument\.lead\.serial\.baud = 0 is invalid"):
        config_from_dict(data)
