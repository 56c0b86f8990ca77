"""The run configuration: frozen dataclasses, read from TOML (``tomllib``), overridden by flags.

Schema (every key optional; the defaults are shown). Relative paths in a file are resolved against
the file's own directory, once, when it is loaded::

    [model]
    file = "models/lightpad.ftm"   # no file: no model, mode "useronly" (log only)
    pi_temp = 1.0                  # π-temperature (>= 0)
    sigma_temp = 1.0               # σ-temperature (>= 0)
    seed = 0                       # seeds the sampler (omit for a fresh seed each run)

    [interaction]
    mode = "callresponse"          # listen|filter (or polyphony)|callresponse|battle|useronly
    threshold = 0.1                # seconds of user silence before call-response answers
    timescale = 1.0                # multiplies every predicted dt (> 0)
    input_thru = false             # also send every user input to the outputs
    out_of_range = "clip"          # clip | reject: control values outside [0, 1]
    dimension = 4                  # 1 + number of controls; only needed without a model
    late_limit = 0.05              # seconds: a scheduled event later than this is dropped

    [osc]
    listen_host = "0.0.0.0"        # IMPSY's documented defaults: listen on 6000 ...
    listen_port = 6000
    send_host = "127.0.0.1"        # ... and send to 127.0.0.1:6001
    send_port = 6001
    input_address = "/interface"
    output_address = "/prediction"
    control_prefix = "/foretell"   # live control: /foretell/mode, /foretell/pitemp, ...
    impsy_control = true           # also accept IMPSY's /impsy/mode, /impsy/pitemp, ...

    [log]
    enabled = true
    dir = "logs"
    predictions = true             # also log the model's events (rows with source "rnn")

    [midi], [[midi.map]], [serial], [websocket]: more transports, off until they name a port
    (schema in ``foretell.io.transport_config``; docs/connect.md shows each)

    [instrument.NAME]: several instruments in one engine, each key defaulting to the sections
    above, each with its own [instrument.NAME.midi], .serial, .websocket if it likes (schema in
    ``foretell.ensemble_config``; examples/configs/ensemble*.toml show them)

An unknown key or a bad value is one ``ConfigError`` line naming it and the valid choices. This
module does no I/O besides reading the file it is given; it opens no sockets and no logs.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from foretell.ensemble_config import TRANSPORTS, InstrumentConfig
from foretell.errors import ConfigError
from foretell.io.transport_config import MidiConfig, SerialConfig, WebSocketConfig

TRANSPORT_KEYS = tuple(f"{kind}." for kind in TRANSPORTS)
ModeName = Literal["listen", "filter", "polyphony", "callresponse", "battle", "useronly"]


@dataclass(frozen=True)
class ModelConfig:
    file: Path | None = None
    pi_temp: float = 1.0
    sigma_temp: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        _require(self.pi_temp >= 0, "model.pi_temp", self.pi_temp, "a number >= 0")
        _require(self.sigma_temp >= 0, "model.sigma_temp", self.sigma_temp, "a number >= 0")


@dataclass(frozen=True)
class InteractionConfig:
    mode: ModeName = "callresponse"
    threshold: float = 0.1
    timescale: float = 1.0
    input_thru: bool = False
    out_of_range: Literal["clip", "reject"] = "clip"
    dimension: int | None = None
    late_limit: float = 0.05

    def __post_init__(self) -> None:
        _require(self.threshold >= 0, "interaction.threshold", self.threshold, "seconds >= 0")
        _require(self.timescale > 0, "interaction.timescale", self.timescale, "a number > 0")
        _require(self.late_limit > 0, "interaction.late_limit", self.late_limit, "seconds > 0")
        dim_ok = self.dimension is None or self.dimension >= 2
        _require(dim_ok, "interaction.dimension", self.dimension, "an integer >= 2")


@dataclass(frozen=True)
class OscConfig:
    listen_host: str = "0.0.0.0"
    listen_port: int = 6000
    send_host: str = "127.0.0.1"
    send_port: int = 6001
    input_address: str = "/interface"
    output_address: str = "/prediction"
    control_prefix: str = "/foretell"
    impsy_control: bool = True

    def __post_init__(self) -> None:
        for key in ("listen_port", "send_port"):
            port = getattr(self, key)
            _require(0 <= port <= 65535, f"osc.{key}", port, "a port number 0..65535")
        for key in ("input_address", "output_address", "control_prefix"):
            value = getattr(self, key)
            _require(
                value.startswith("/") and not OSC_RESERVED.intersection(value),
                f"osc.{key}",
                value,
                "an OSC address: starts with /, no spaces or any of #*,?[]{}",
            )


@dataclass(frozen=True)
class LogConfig:
    enabled: bool = True
    dir: Path = Path("logs")
    predictions: bool = True


@dataclass(frozen=True)
class RunConfig:
    """Everything ``foretell run`` needs, one section per concern."""

    model: ModelConfig = field(default_factory=ModelConfig)
    interaction: InteractionConfig = field(default_factory=InteractionConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    log: LogConfig = field(default_factory=LogConfig)
    midi: MidiConfig = field(default_factory=MidiConfig)
    serial: SerialConfig = field(default_factory=SerialConfig)
    websocket: WebSocketConfig = field(default_factory=WebSocketConfig)
    instrument: tuple[InstrumentConfig, ...] = ()  # [instrument.NAME]: an ensemble


OSC_RESERVED = frozenset(" #*,?[]{}")  # not allowed in an OSC address (OSC 1.0 spec)


def _require(ok: bool, key: str, value: object, valid: str) -> None:
    if not ok:
        raise ConfigError(f"{key} = {value!r} is invalid (expected {valid})")


# -- reading ------------------------------------------------------------------------------------


def _describe(kind: Any) -> str:
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(kind))
    if get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(kind) if a is not type(None))
    if get_origin(kind) is tuple:
        return f"a list of {_describe(get_args(kind)[0])}"
    if dataclasses.is_dataclass(kind):
        return "a table"
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        Path: "a path (string)",
    }.get(kind, str(kind))


def _convert(kind: Any, value: Any, key: str, base: Path | None) -> Any:
    """Check ``value`` against the annotated type ``kind``; raise naming ``key`` if it fails."""
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return _convert(options[0], value, key, base)
    if origin is Literal:
        if value in get_args(kind):
            return value
    elif kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is Path and isinstance(value, str):
        path = Path(value).expanduser()
        return path if base is None or path.is_absolute() else base / path
    elif origin is tuple and isinstance(value, list):  # tuple[X, ...]: a TOML array
        item = get_args(kind)[0]
        return tuple(_convert(item, v, f"{key}[{i}]", base) for i, v in enumerate(value))
    elif isinstance(kind, type) and dataclasses.is_dataclass(kind) and isinstance(value, dict):
        return _section(kind, value, key, base)
    raise ConfigError(f"{key} = {value!r} is invalid (expected {_describe(kind)})")


def _section(cls: type, data: Any, name: str, base: Path | None) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table, not {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown key {name}.{key} (valid keys: {', '.join(names)})")
        values[key] = _convert(hints[key], value, f"{name}.{key}", base)
    return cls(**values)


def _instruments(data: Any, base: Path | None) -> tuple[InstrumentConfig, ...]:
    """``[instrument.NAME]`` tables (see ``foretell.ensemble_config``), in file order."""
    if not isinstance(data, dict):
        raise ConfigError(f"[instrument] must hold [instrument.NAME] tables, not {data!r}")
    return tuple(_instrument(name, table, base) for name, table in data.items())


def _instrument(name: str, table: Any, base: Path | None) -> InstrumentConfig:
    """One ``[instrument.NAME]``; a bad value in its ``midi``/``serial``/``websocket`` table is
    named in full (``instrument.NAME.midi.channel``)."""
    data = {**table, "name": name} if isinstance(table, dict) else table
    try:
        return _section(InstrumentConfig, data, f"instrument.{name}", base)
    except ConfigError as exc:
        if str(exc).startswith(TRANSPORT_KEYS):
            raise ConfigError(f"instrument.{name}.{exc}") from None
        raise


def config_from_dict(data: dict[str, Any], base: Path | None = None) -> RunConfig:
    """Build a ``RunConfig`` from parsed TOML; relative paths are resolved against ``base``."""
    hints = typing.get_type_hints(RunConfig)
    sections = {f.name: hints[f.name] for f in dataclasses.fields(RunConfig)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(f"unknown section [{name}] (valid sections: {', '.join(sections)})")
        if name == "instrument":
            values[name] = _instruments(value, base)
            continue
        values[name] = _section(sections[name], value, name, base)
    return RunConfig(**values)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or invalid file is one ``ConfigError`` line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc})") from exc


def load_config(path: str | Path) -> RunConfig:
    """Read a TOML run configuration (paths inside it are relative to its directory)."""
    path = Path(path)
    data = read_toml(path)
    try:
        return config_from_dict(data, base=path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def override(config: RunConfig, section: str, **changes: Any) -> RunConfig:
    """Return ``config`` with ``changes`` applied to one section (``None`` values are skipped)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return config
    current = getattr(config, section)
    names = {f.name for f in dataclasses.fields(current)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise ConfigError(
            f"unknown key {section}.{unknown[0]} (valid keys: {', '.join(sorted(names))})"
        )
    return dataclasses.replace(config, **{section: dataclasses.replace(current, **changes)})
