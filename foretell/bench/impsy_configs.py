"""``foretell bench impsy-configs``: IMPSY's config files through foretell, one line each.

For every ``*.toml`` in ``--configs`` (default: the copies of IMPSY's 17 shipped configs in
``tests/impsy/configs``), in a temporary folder with a random model of the config's dimension
beside it: the config is read and its model imported (``read_run_config``, ``import_model``),
the IMPSY settings it names as unused are collected, and every MIDI input entry's message is
read by the instrument's decoders and every output port's encoder plays one vector, timing both
(median microseconds per message). With ``--rig`` each MIDI config also plays on a dummy JACK
server it starts (``foretell.bench.impsy_rig``): the performer plays phrases while the model
answers on the same devices, and the line says how many of the performer's messages the log
kept and how many mapped outputs were heard. This measures and reports; it asserts nothing (a
config that fails to load is reported as such).
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import tempfile
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import mido

from foretell.bench.impsy_rig import random_impsy_model
from foretell.bench.registry import register
from foretell.errors import ForetellError

if TYPE_CHECKING:
    pass

DEFAULT_CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "impsy" / "configs"
REPEATS = 200


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _with_model(folder: Path, source: Path) -> Path:
    """``source`` copied into ``folder`` with a random model of its dimension where it names one."""
    from foretell.model.fileformat import save_model

    path = folder / source.name
    shutil.copyfile(source, path)
    model = tomllib.loads(source.read_text()).get("model", {})
    if "file" in model and "dimension" in model:
        target = (folder / model["file"]).with_suffix(".ftm")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_model(target, random_impsy_model(int(model["dimension"])))
    return path


def _median_us(action: Any, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _midi_timings(config: Any) -> dict[str, Any]:
    """Decode each input entry's message and encode one vector per output port, timed."""
    from foretell.io.midi_impsy import ImpsyDecoder, ImpsyEncoder

    midi = config.midi
    if not midi.enabled or midi.dialect != "impsy":
        return {}
    controls = (config.interaction.dimension or 2) - 1
    values = [0.5] * controls
    messages = []
    for name in midi.inputs:
        decoder = ImpsyDecoder([m for m in midi.map if m.serves(name, "in")], values)
        for m in decoder.maps:
            channel = (m.channel or 1) - 1
            if m.type == "note":
                messages.append((decoder, mido.Message("note_on", channel=channel, note=64)))
            else:
                message = mido.Message("control_change", channel=channel, control=m.number)
                messages.append((decoder, message))
    mapped = sum(d.decode(msg) is not None for d, msg in messages)
    encoders = [
        ImpsyEncoder([m for m in midi.map if m.serves(name, "out")], midi.velocity)
        for name in midi.outputs
    ]
    sent = sum(len(e.encode([0.5] * controls)) for e in encoders)
    decode = _median_us(lambda: [d.decode(msg) for d, msg in messages]) / max(len(messages), 1)
    encode = _median_us(lambda: [e.encode(values) for e in encoders]) / max(sent, 1)
    return {
        "inputs_mapped": f"{mapped}/{len(messages)}",
        "messages_per_vector": sent,
        "decode_us_per_message": round(decode, 2),
        "encode_us_per_message": round(encode, 2),
    }


def check_config(source: Path) -> dict[str, Any]:
    """One config's result (see the module docstring)."""
    from foretell.impsy.config import import_model, read_run_config

    collect = _Collect()
    logger = logging.getLogger("foretell.impsy.config")
    logger.addHandler(collect)
    try:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            config = import_model(read_run_config(_with_model(Path(folder), source)))
            load_ms = (time.perf_counter() - start) * 1e3
    except ForetellError as exc:
        return {"config": source.name, "loads": False, "error": str(exc)}
    finally:
        logger.removeHandler(collect)
    unused = [line.split("does not use: ", 1)[-1] for line in collect.lines]
    return {
        "config": source.name,
        "loads": True,
        "load_ms": round(load_ms, 1),
        "unused": unused[0] if unused else "",
        "midi": f"{len(config.midi.inputs)} in, {len(config.midi.outputs)} out, "
        f"{len(config.midi.map)} maps, {len(config.midi.route)} routes",
        "websocket": config.websocket.protocol if config.websocket.enabled else "",
        "serial": config.serial.protocol if config.serial.enabled else "",
        **_midi_timings(config),
    }


def _add_rig(configs: Path, results: list[dict[str, Any]]) -> None:
    """Each MIDI config's rig result in its line (``impsy_rig``), or why there is none."""
    from foretell.bench.impsy_rig import dummy_jack, run_rig

    with dummy_jack() as env:
        for result in results:
            path = configs / result["config"]
            if not result["loads"] or "midi" not in tomllib.loads(path.read_text()):
                continue
            if env is None:
                result["rig"] = "not run (jackd is missing or did not start)"
                continue
            with tempfile.TemporaryDirectory() as folder:
                try:
                    played = run_rig(path, env, Path(folder))
                except (RuntimeError, OSError, ValueError) as exc:
                    result["rig"] = f"failed: {exc}"
                    continue
            result["rig"] = played.describe()
            result["rig_logged_share"] = round(played.logged_share, 4)
            result["rig_outputs_seen"] = f"{played.seen}/{played.outputs}"


@register
@click.command("impsy-configs")
@click.option(
    "--configs",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=DEFAULT_CONFIGS,
    show_default=True,
    help="Folder of IMPSY config.toml files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per config.")
@click.option(
    "--rig",
    is_flag=True,
    help="Also play each MIDI config on a dummy JACK server (jackd): the performer's messages "
    "logged while the model plays, and the mapped outputs heard.",
)
def impsy_configs(configs: Path, as_json: bool, rig: bool) -> None:
    """Load each IMPSY config, name what it leaves unused, time its MIDI mapping."""
    results = [check_config(path) for path in sorted(configs.glob("*.toml"))]
    if rig:
        _add_rig(configs, results)
    for result in results:
        if as_json:
            click.echo(json.dumps(result))
            continue
        if not result["loads"]:
            click.echo(f"{result['config']}: does not load: {result['error']}")
            continue
        timing = (
            f"; mapped in {result['inputs_mapped']}, {result['decode_us_per_message']} us/msg in, "
            f"{result['encode_us_per_message']} us/msg out"
            if "inputs_mapped" in result
            else ""
        )
        played = f"; rig: {result['rig']}" if "rig" in result else ""
        click.echo(
            f"{result['config']}: loads in {result['load_ms']} ms; MIDI {result['midi']}"
            f"{timing}; unused: {result['unused'] or 'nothing'}{played}"
        )
    loaded = sum(r["loads"] for r in results)
    if not as_json:
        click.echo(f"{loaded} of {len(results)} configs load")
