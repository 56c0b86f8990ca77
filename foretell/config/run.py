"""The run configuration: frozen dataclasses, read from TOML (``tomllib``), overridden by flags.

Schema (every key optional; the defaults are shown). Relative paths in a file are resolved against
the file's own directory, once, when it is loaded::

    [model]
    file = "models/lightpad.ftm"   # no file: no model, mode "useronly" (log only)
    dir = "models"                 # where `load NAME` finds models (default: file's folder)
    pi_temp = 1.0                  # π-temperature (0..10)
    sigma_temp = 1.0               # σ-temperature (0..10)
    activity_temp = 1.0            # how many controls a moves model moves (0..10; 0: likeliest)
    seed = 0                       # seeds the sampler, >= 0 (omit for a fresh seed each run)

    [interaction]
    mode = "callresponse"          # listen|filter (or polyphony)|callresponse|battle|useronly
    threshold = 0.1                # seconds of user silence before call-response answers (0..60)
    timescale = 1.0                # multiplies every predicted dt (0.05..20)
    input_thru = false             # also send every user input to the outputs
    out_of_range = "clip"          # clip | reject: control values outside [0, 1]
    ranges = [[0, 0.2, 0.8]]       # steering (controls from 0): control 0 plays in [0.2, 0.8]
    holds = [[1, 0.5]]             # control 1 held at 0.5, the rest conditioned on it
    control_temps = [[2, 3.0]]     # control 2's own σ-temperature
    dt_range = [0.05, 0.5]         # seconds between the model's events, as played
    condition_on = [0]             # filter: each answer holds control 0 where the performer put it
    dimension = 4                  # 1 + number of controls; needed to log without a model
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
    control_from = []              # hosts/networks besides this machine that may steer ("*": all)
    moved = false                  # also send {output_address}/moved i i ...: the controls that
                                   # moved (one bundle with the vector; docs/connect.md)

    [log]
    enabled = true
    dir = "logs"
    predictions = true             # also log the model's events (rows with source "rnn")

    [dashboard]: the page (host, port, names, [[dashboard.preset]]s; ``foretell.config.dashboard``)

    [midi], [[midi.map]], [serial], [websocket]: more transports, off until they name a port
    (schema in ``foretell.config.transports``; docs/connect.md shows each)

    [instrument.NAME]: several instruments in one engine, each key defaulting to the sections
    above, each with its own [instrument.NAME.midi], .serial, .websocket if it likes (schema in
    ``foretell.config.instruments``; examples/configs/ensemble*.toml show them)

The live settings' keys (``pi_temp``, ``sigma_temp``, ``threshold``, ``timescale``,
``input_thru``) are fields made from their table (``foretell.config.live_keys``). An unknown key
or a bad value (a number out of its range or not finite: ``foretell.settings``,
``foretell.limits``) is one ``ConfigError`` line naming it and the valid choices. This module
does no I/O besides reading the file it is given; it opens no sockets and no logs.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from foretell.commands import Command, parse_command
from foretell.config.control_sources import ControlSources
from foretell.config.dashboard import DashboardConfig
from foretell.config.instruments import InstrumentConfig
from foretell.config.live_keys import check_live_keys, live_keys
from foretell.config.transports import TRANSPORTS, MidiConfig, SerialConfig, WebSocketConfig
from foretell.errors import ConfigError, ControlError
from foretell.settings import in_section

TRANSPORT_KEYS = tuple(f"{kind}." for kind in TRANSPORTS)
MAX_DIMENSION = 1024  # 1 + controls: far above any instrument, small enough to stay bounded
ModeName = Literal["listen", "filter", "polyphony", "callresponse", "battle", "useronly"]


@dataclass(frozen=True)
@live_keys(in_section("model"))
class ModelConfig:
    """``[model]``; its live settings' keys (``pi_temp``, ...) come from their table."""

    file: Path | None = None
    dir: Path | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        check_live_keys(self, in_section("model"), "model")
        seed_ok = self.seed is None or 0 <= self.seed < 2**63
        _require(seed_ok, "model.seed", self.seed, "an integer >= 0")


@dataclass(frozen=True)
@live_keys(in_section("interaction"))
class InteractionConfig:
    """``[interaction]``; its live settings' keys (``threshold``, ``timescale``, ``input_thru``)
    come from their table."""

    mode: ModeName = "callresponse"
    out_of_range: Literal["clip", "reject"] = "clip"
    dimension: int | None = None
    late_limit: float = 0.05
    ranges: tuple[tuple[float, ...], ...] = ()  # [[control, lo, hi], ...]: /foretell/range
    holds: tuple[tuple[float, ...], ...] = ()  # [[control, value], ...]: /foretell/hold
    control_temps: tuple[tuple[float, ...], ...] = ()  # [[control, T], ...]: /foretell/controltemp
    dt_range: tuple[float, ...] = ()  # [min, max] seconds between the model's events, as played
    condition_on: tuple[int, ...] = ()  # filter: hold these controls at the performer's values

    def __post_init__(self) -> None:
        self.steering_commands()  # checks every entry as its OSC verb would
        ok = all(0 <= i < MAX_DIMENSION for i in self.condition_on)
        _require(ok, "interaction.condition_on", list(self.condition_on), "control numbers >= 0")
        check_live_keys(self, in_section("interaction"), "interaction")
        late_ok = 0 < self.late_limit <= 10
        _require(late_ok, "interaction.late_limit", self.late_limit, "seconds in (0, 10]")
        dim_ok = self.dimension is None or 2 <= self.dimension <= MAX_DIMENSION
        _require(dim_ok, "interaction.dimension", self.dimension, f"an integer 2..{MAX_DIMENSION}")

    def steering_commands(self) -> list[Command]:
        """The configured constraints as the commands that set them (``ConfigError`` naming
        the key and the verb's complaint)."""
        entries = [
            *(("ranges", "range", list(e)) for e in self.ranges),
            *(("holds", "hold", list(e)) for e in self.holds),
            *(("control_temps", "controltemp", list(e)) for e in self.control_temps),
            *([("dt_range", "dtrange", list(self.dt_range))] if self.dt_range else []),
        ]
        commands = []
        for key, verb, args in entries:
            try:
                commands.append(parse_command(verb, args))
            except ControlError as exc:
                raise ConfigError(f"interaction.{key} = {args!r} is invalid ({exc})") from None
        return commands


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
    control_from: tuple[str, ...] = ()
    moved: bool = False

    @property
    def control_sources(self) -> ControlSources:
        return ControlSources.parse(self.control_from)

    def __post_init__(self) -> None:
        try:
            self.control_sources  # noqa: B018 - checks every entry
        except ConfigError as exc:
            raise ConfigError(f"osc.{exc}") from None
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
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    instrument: tuple[InstrumentConfig, ...] = ()  # [instrument.NAME]: an ensemble

    def models_dir(self) -> Path:
        """Where ``load NAME`` looks: ``[model] dir``, else the folder of the first model an
        instrument plays (where ``--learn`` keeps its versions), else ``./models``."""
        if self.model.dir is not None:
            return self.model.dir
        played = [inst.model or self.model.file for inst in self.instrument]
        model = next((path for path in played if path is not None), self.model.file)
        return model.parent if model is not None else Path("models")


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
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
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
    """``[instrument.NAME]`` tables (see ``foretell.config.instruments``), in file order."""
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
    except IsADirectoryError as exc:
        raise ConfigError(f"config file {path} is a directory, not a file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path} ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start})") from exc
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
