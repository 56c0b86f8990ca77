"""One ``[instrument.NAME]`` section of an ensemble config: a frozen dataclass, nothing else.

Every key is optional; an unset key (``None``) takes the value of the top-level section it
shadows (``[model]``, ``[interaction]``, ``[osc]``, ``[log]``), so a section names only what
differs. ``foretell.perform.build`` resolves it into a per-instrument ``RunConfig``::

    [instrument.lead]
    model = "models/lightpad.ftm"  # [model] file; several instruments may share one file
    seed = 1                       # [model] seed
    pi_temp = 1.0                  # [model] pi_temp
    sigma_temp = 0.5               # [model] sigma_temp
    mode = "callresponse"          # [interaction] mode
    threshold = 0.1                # [interaction] threshold
    timescale = 1.0                # [interaction] timescale
    input_thru = false             # [interaction] input_thru
    dimension = 4                  # [interaction] dimension (only without a model)
    listen_host = "0.0.0.0"        # [osc] listen_host
    listen_port = 6000             # [osc] listen_port (shared: see below; 0: any free port)
    send_host = "127.0.0.1"        # [osc] send_host
    send_port = 6001               # [osc] send_port
    input_address = "/interface"   # [osc] input_address
    output_address = "/prediction" # [osc] output_address
    log = true                     # [log] enabled
    log_dir = "logs/lead"          # default: [log] dir / NAME
    listen_to = ["bass"]           # also take these instruments' events as input (see below)
    batch = true                   # step with the others sharing its model file, per wake-up
    ranges = [[0, 0.2, 0.8]]       # [interaction] ranges, holds, control_temps, dt_range and
    holds = [[1, 0.5]]             # condition_on: this instrument's steering

    [instrument.lead.midi]         # its own MIDI, [serial] and [websocket]: the keys of the
    inputs = ["Keystep"]           # top-level sections (foretell.config.transports)
    outputs = ["Keystep"]
    channel = 1                    # share a port with other instruments, a channel each

Instruments may share a ``listen_port`` when their ``input_address`` differ (``/lead/interface``,
``/bass/interface``): one socket, routed by address. MIDI ports named by several instruments are
opened once, each instrument reading and writing its ``channel``. The top-level ``[midi]``,
``[serial]`` and ``[websocket]`` sections (and ``--midi-in``, ``--serial``, ``--ws``) belong to
the first instrument, as if written in its section; giving both is an error.

``listen_to`` entries are ``NAME`` (what NAME's model plays), ``NAME:user`` (NAME's performer)
or ``NAME:all``. Live control of an instrument is ``{[osc] control_prefix}/NAME/VERB`` on its
own port (``/foretell/lead/mode``). This module validates values; it opens nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from foretell.config.live_keys import live_keys
from foretell.config.transports import MidiConfig, SerialConfig, WebSocketConfig
from foretell.errors import ConfigError, ControlError
from foretell.modes import get_mode
from foretell.settings import SETTINGS

LISTEN_KINDS = ("model", "user", "all")


@dataclass(frozen=True)
@live_keys(SETTINGS, inherit=True)
class InstrumentConfig:
    """One instrument of an ensemble (see the module docstring); ``None`` inherits. Every live
    setting's key (``pi_temp``, ``threshold``, ...) is one too, from their table."""

    name: str = "main"
    model: Path | None = None
    seed: int | None = None
    mode: str | None = None
    dimension: int | None = None
    listen_host: str | None = None
    listen_port: int | None = None
    send_host: str | None = None
    send_port: int | None = None
    input_address: str | None = None
    output_address: str | None = None
    log: bool | None = None
    log_dir: Path | None = None
    listen_to: tuple[str, ...] = ()
    batch: bool = True
    ranges: tuple[tuple[float, ...], ...] | None = None  # [interaction] steering keys
    holds: tuple[tuple[float, ...], ...] | None = None
    control_temps: tuple[tuple[float, ...], ...] | None = None
    dt_range: tuple[float, ...] | None = None
    condition_on: tuple[int, ...] | None = None
    midi: MidiConfig | None = None
    serial: SerialConfig | None = None
    websocket: WebSocketConfig | None = None

    def __post_init__(self) -> None:
        key = f"instrument.{self.name}"
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"[{key}]: the name must be letters, digits, '-' or '_'")
        if self.mode is not None:
            try:
                get_mode(self.mode)
            except ControlError as exc:
                raise ConfigError(f"{key}.mode: {exc}") from None
        for port_key in ("listen_port", "send_port"):
            port = getattr(self, port_key)
            if port is not None and not 0 <= port <= 65535:
                raise ConfigError(f"{key}.{port_key} = {port!r} is invalid (expected 0..65535)")
        for entry in self.listen_to:
            listen_spec(entry, key)


def listen_spec(entry: str, key: str = "listen_to") -> tuple[str, str]:
    """``"bass"`` -> ``("bass", "model")``; ``"bass:user"`` -> ``("bass", "user")``."""
    name, _, kind = entry.partition(":")
    kind = kind or "model"
    if not name or kind not in LISTEN_KINDS:
        raise ConfigError(
            f"{key}.listen_to entry {entry!r} is invalid (expected NAME, NAME:user or NAME:all)"
        )
    return name, kind


def parse_instrument_flag(text: str) -> InstrumentConfig:
    """``NAME=MODEL:IN_PORT[/ADDRESS]:OUT_HOST:OUT_PORT`` (``foretell run --instrument``).

    ``IN_PORT/lead/interface`` sets the input address too, so several instruments can share
    one port (``6000/lead/interface``, ``6000/bass/interface``).
    """
    name, _, rest = text.partition("=")
    parts = rest.rsplit(":", 3)
    usage = f"--instrument {text!r} is not NAME=MODEL:IN_PORT[/ADDRESS]:OUT_HOST:OUT_PORT"
    if not name or len(parts) != 4 or not all(parts):
        raise ConfigError(usage)
    model, listen, out_host, out_port = parts
    in_port, slash, address = listen.partition("/")
    try:
        ports = int(in_port), int(out_port)
    except ValueError:
        raise ConfigError(usage) from None
    if slash and not address:
        raise ConfigError(usage)
    return InstrumentConfig(
        name=name,
        model=Path(model).expanduser().resolve(),
        listen_port=ports[0],
        send_host=out_host,
        send_port=ports[1],
        input_address="/" + address if address else None,
    )
