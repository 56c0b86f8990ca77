"""An IMPSY ``config.toml`` (already parsed) -> foretell's ``RunConfig``, naming what it can't use.

IMPSY keys and where they go:

========================================  =====================================================
IMPSY                                     foretell
========================================  =====================================================
``log_input``, ``log_predictions``        ``log.enabled`` (either), ``log.predictions``
``[interaction] mode, threshold,          ``interaction.*`` (same names and modes)
input_thru``
``[model] file``                          ``model.file``: the ``.ftm`` next to IMPSY's model file
                                          (``import_source`` says which file to import into it)
``[model] pitemp, sigmatemp, timescale``  ``model.pi_temp``, ``model.sigma_temp``,
                                          ``interaction.timescale``
``[model] dimension``                     ``interaction.dimension`` (the model file has it too)
``[model] size``                          dropped: foretell reads the size from the model file
``[osc] server_ip, server_port,           ``osc.listen_host``, ``osc.listen_port``,
client_ip, client_port``                  ``osc.send_host``, ``osc.send_port`` (``0.0.0.0`` is
                                          sent to as 127.0.0.1, as IMPSY does)
``[midi]``, ``[websocket]``, ``[serial]``,  foretell's ``[midi]``, ``[websocket]``, ``[serial]``
``[serialmidi]``                          with IMPSY's semantics (``io_sections``)
========================================  =====================================================

IMPSY's OSC addresses are kept: ``/interface`` in (foretell's default too) and ``/impsy`` out
(IMPSY 1.x's ``OSCServer``; foretell's own default is the paper's ``/prediction``), so IMPSY's
Pd/Max patches work unchanged. Anything else (``verbose``, the metadata ``title``, ``owner``,
``name``, ``description``, ``[webui]``'s keys (the dashboard replaces it), unknown keys) is
listed in ``ImpsyConfig.unsupported`` for the caller to name in one warning line. This module
reads no files except to check whether an imported ``.ftm`` already sits next to IMPSY's model file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foretell.config import RunConfig, config_from_dict, load_config, read_toml
from foretell.errors import ConfigError
from foretell.impsy import io_sections

log = logging.getLogger(__name__)

KEY_MAP: dict[tuple[str, str], tuple[str, str]] = {
    ("interaction", "mode"): ("interaction", "mode"),
    ("interaction", "threshold"): ("interaction", "threshold"),
    ("interaction", "input_thru"): ("interaction", "input_thru"),
    ("model", "pitemp"): ("model", "pi_temp"),
    ("model", "sigmatemp"): ("model", "sigma_temp"),
    ("model", "timescale"): ("interaction", "timescale"),
    ("model", "dimension"): ("interaction", "dimension"),
    ("osc", "server_ip"): ("osc", "listen_host"),
    ("osc", "server_port"): ("osc", "listen_port"),
    ("osc", "client_ip"): ("osc", "send_host"),
    ("osc", "client_port"): ("osc", "send_port"),
}
HANDLED = {("model", "file"), ("model", "size")}
UNUSED_TOP = {"title", "owner", "name", "description", "verbose"}  # named, not used
TRANSPORT_SECTIONS = ("midi", "websocket", "serial", "serialmidi")
ANY_ADDRESS = ("0.0.0.0", "::", "")  # IMPSY sends to 127.0.0.1 instead
LOG_KEYS = {"log_input", "log_predictions"}
IMPSY_MARKERS = {"log_input", "log_predictions", "verbose"}
IMPSY_SECTION_MARKERS = {
    "model": {"pitemp", "sigmatemp", "size"},
    "osc": {"server_ip", "client_ip"},
}
IMPSY_OUTPUT_ADDRESS = "/impsy"  # where IMPSY 1.x sends its predictions


@dataclass(frozen=True)
class ImpsyConfig:
    """The mapped configuration, IMPSY keys foretell ignores, and a model file still to import."""

    config: RunConfig
    unsupported: tuple[str, ...]
    import_source: Path | None  # IMPSY model to import into ``config.model.file`` before running

    def warning(self) -> str | None:
        """One line naming every unsupported IMPSY setting, or ``None``."""
        if not self.unsupported:
            return None
        return "IMPSY settings foretell does not use: " + ", ".join(self.unsupported)


def is_impsy_config(data: dict[str, Any]) -> bool:
    """Whether parsed TOML looks like IMPSY's config rather than foretell's."""
    if IMPSY_MARKERS & set(data):
        return True
    return any(
        isinstance(data.get(section), dict) and keys & set(data[section])
        for section, keys in IMPSY_SECTION_MARKERS.items()
    )


def _model_file(value: Any, base: Path | None) -> tuple[str, Path | None]:
    """foretell's model file for IMPSY's ``[model] file`` and the IMPSY file to import, if any.

    A ``.ftm`` of the same stem beside IMPSY's file is used as it is; otherwise IMPSY's file
    (``.keras``, ``.h5`` or ``.tflite``) is imported into it when the run starts.
    """
    if not isinstance(value, str):
        raise ConfigError(f"model.file = {value!r} is invalid (expected a path (string))")
    path = Path(value).expanduser()
    located = path if base is None or path.is_absolute() else base / path
    if located.suffix == ".ftm":
        return value, None
    target = located.with_suffix(".ftm")
    return str(target), None if target.is_file() else located


def _map(
    data: dict[str, Any], base: Path | None
) -> tuple[dict[str, dict[str, Any]], list[str], Path | None]:
    mapped: dict[str, dict[str, Any]] = {}
    unsupported: list[str] = []
    source: Path | None = None
    for key, value in data.items():
        if key in LOG_KEYS or (key in TRANSPORT_SECTIONS and isinstance(value, dict)):
            continue
        if not isinstance(value, dict):
            unsupported.append(key)
            continue
        for inner, inner_value in value.items():
            if (key, inner) in KEY_MAP:
                section, name = KEY_MAP[(key, inner)]
                mapped.setdefault(section, {})[name] = inner_value
            elif (key, inner) == ("model", "file"):
                mapped.setdefault("model", {})["file"], source = _model_file(inner_value, base)
            elif (key, inner) not in HANDLED:
                unsupported.append(f"{key}.{inner}")
    _map_log(data, mapped, unsupported)
    unsupported += _map_transports(data, mapped)
    if mapped.get("osc", {}).get("send_host", "localhost") in ANY_ADDRESS:
        mapped["osc"]["send_host"] = "127.0.0.1"
    return mapped, unsupported, source


def _section(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    return value if isinstance(value, dict) else None


def _map_transports(data: dict[str, Any], mapped: dict[str, dict[str, Any]]) -> list[str]:
    """IMPSY's MIDI, WebSocket, serial and serial-MIDI sections (``io_sections``)."""
    dimension = _section(data, "model") and data["model"].get("dimension")
    controls = dimension - 1 if isinstance(dimension, int) and dimension > 1 else None
    unused: list[str] = []
    midi, websocket = _section(data, "midi"), _section(data, "websocket")
    serial, serialmidi = _section(data, "serial"), _section(data, "serialmidi")
    if midi is not None:
        mapped["midi"], skipped = io_sections.midi_section(midi, controls)
        unused += skipped
    if websocket is not None:
        mapped["websocket"], skipped = io_sections.websocket_section(websocket, controls)
        unused += skipped
    if serial is not None or serialmidi is not None:
        mapped["serial"], skipped = io_sections.serial_sections(serial, serialmidi, controls)
        unused += skipped
    return unused


def _map_log(
    data: dict[str, Any], mapped: dict[str, dict[str, Any]], unsupported: list[str]
) -> None:
    if not LOG_KEYS & set(data):
        return
    inputs, predictions = data.get("log_input", True), data.get("log_predictions", False)
    mapped["log"] = {"enabled": bool(inputs or predictions), "predictions": predictions}
    if predictions and not inputs:
        unsupported.append("log_input = false (foretell logs inputs whenever it logs)")


def impsy_to_run_config(data: dict[str, Any], base: Path | None = None) -> ImpsyConfig:
    """Map parsed IMPSY TOML to foretell's config; relative paths resolve against ``base``."""
    mapped, unsupported, source = _map(data, base)
    mapped.setdefault("osc", {}).setdefault("output_address", IMPSY_OUTPUT_ADDRESS)
    try:
        config = config_from_dict(mapped, base)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{_impsy_name(str(exc))}") from exc
    return ImpsyConfig(config, tuple(unsupported), source)


def _impsy_name(message: str) -> str:
    for (isection, ikey), (section, key) in KEY_MAP.items():
        if message.startswith(f"{section}.{key} "):
            return f" (IMPSY's [{isection}] {ikey})"
    return ""


def read_run_config(path: str | Path) -> ImpsyConfig:
    """Read a run config that may be foretell's or IMPSY's, writing nothing: an IMPSY one is
    mapped and its unsupported settings named in one warning; ``import_source`` is the IMPSY
    model still to import (``import_model``)."""
    path = Path(path)
    data = read_toml(path)
    if not is_impsy_config(data):
        return ImpsyConfig(load_config(path), (), None)
    mapped = impsy_to_run_config(data, path.resolve().parent)
    warning = mapped.warning()
    if warning:
        log.warning("%s: %s", path, warning)
    return mapped


def import_model(read: ImpsyConfig) -> RunConfig:
    """The explicit step before running an IMPSY config: its model imported into the ``.ftm``
    beside it (once: the next read finds the ``.ftm`` and names nothing to import)."""
    target = read.config.model.file
    if read.import_source is not None and target is not None:
        _import_beside(read.import_source, target)
    return read.config


def _import_beside(source: Path, target: Path) -> None:
    """Import IMPSY's model file into ``target``; a Flex-ops ``.tflite`` falls back to the
    ``.keras``/``.h5`` IMPSY saved with it (the same weights), said in one line."""
    from foretell.impsy.keras_import import import_impsy_model
    from foretell.impsy.tflite_import import FlexOpsError
    from foretell.model.fileformat import save_model

    try:
        imported = import_impsy_model(source)
    except FlexOpsError as exc:
        if exc.sibling is None:
            raise
        log.warning(
            "%s needs TensorFlow's Flex ops; importing %s instead", source, exc.sibling.name
        )
        source, imported = exc.sibling, import_impsy_model(exc.sibling)
    save_model(target, imported.model)
    log.info("imported IMPSY model %s as %s", source, target)
