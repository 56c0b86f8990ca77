"""An IMPSY config.toml maps to foretell's RunConfig: same ports, addresses, modes, temperatures."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from foretell.errors import ConfigError

pytest.importorskip(
    "foretell.config", reason="foretell.config (the run configuration) not built yet"
)
from foretell.impsy.config import impsy_to_run_config, is_impsy_config

IMPSY_TOML = """
title = "LightPad to Pd"
owner = "someone"
description = "an IMPSY setup"
log_input = true
log_predictions = true
verbose = true

[interaction]
mode = "polyphony"
threshold = 0.2
input_thru = true

[model]
dimension = 4
file = "models/musicMDRNN-dim4-layers2-units64-mixtures5-scale10.keras"
size = "s"
sigmatemp = 0.01
pitemp = 1.5
timescale = 1

[osc]
server_ip = "0.0.0.0"
server_port = 6000
client_ip = "localhost"
client_port = 6001

[midi]
in_device = ["X-TOUCH"]
out_device = ["Studio 1824c"]

[webui]
monitor_port = 4001
"""


def test_impsy_config_maps_to_foretell(tmp_path: Path) -> None:
    data = tomllib.loads(IMPSY_TOML)
    assert is_impsy_config(data)
    mapped = impsy_to_run_config(data, base=tmp_path)
    config = mapped.config
    assert (config.osc.listen_host, config.osc.listen_port) == ("0.0.0.0", 6000)
    assert (config.osc.send_host, config.osc.send_port) == ("localhost", 6001)
    assert (config.osc.input_address, config.osc.output_address) == ("/interface", "/impsy")
    assert config.interaction.mode == "polyphony" and config.interaction.threshold == 0.2
    assert config.interaction.input_thru and config.interaction.timescale == 1.0
    assert (config.model.pi_temp, config.model.sigma_temp) == (1.5, 0.01)
    assert config.log.enabled and config.log.predictions
    keras = tmp_path / "models" / "musicMDRNN-dim4-layers2-units64-mixtures5-scale10.keras"
    assert config.model.file == keras.with_suffix(".ftm")
    assert mapped.import_source == keras  # not imported yet
    assert mapped.warning() == (
        "IMPSY settings foretell does not use: title, owner, description, verbose, "
        "webui.monitor_port"
    )
    assert (config.midi.inputs, config.midi.outputs) == (("X-TOUCH",), ("Studio 1824c",))
    assert config.midi.dialect == "impsy" and not config.midi.feedback_guard


def test_an_already_imported_model_is_used_directly(tmp_path: Path) -> None:
    (tmp_path / "m.ftm").write_bytes(b"")
    mapped = impsy_to_run_config({"model": {"file": "m.h5", "pitemp": 1.0}}, base=tmp_path)
    assert mapped.config.model.file == tmp_path / "m.ftm" and mapped.import_source is None


def test_tflite_model_is_imported_itself_unless_a_ftm_stands_beside_it(tmp_path: Path) -> None:
    mapped = impsy_to_run_config({"model": {"file": "m.tflite"}}, base=tmp_path)
    assert mapped.import_source == tmp_path / "m.tflite"
    assert mapped.config.model.file == tmp_path / "m.ftm"
    (tmp_path / "m.ftm").write_bytes(b"")
    mapped = impsy_to_run_config({"model": {"file": "m.tflite"}}, base=tmp_path)
    assert mapped.import_source is None and mapped.config.model.file == tmp_path / "m.ftm"


def test_bad_values_name_the_impsy_key() -> None:
    with pytest.raises(ConfigError, match=r"\(IMPSY's \[model\] pitemp\)"):
        impsy_to_run_config({"model": {"pitemp": -1}})


def test_foretell_configs_are_not_taken_for_impsy() -> None:
    assert not is_impsy_config({"model": {"pi_temp": 1.0}, "osc": {"listen_port": 6000}})
