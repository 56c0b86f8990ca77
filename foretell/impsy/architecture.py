"""What an IMPSY model is: dimension, LSTM layers and units, mixtures, and its input scale.

Three sources, best first: the file's own Keras config (``config.json`` in a ``.keras`` zip, the
``model_config`` attribute of a Keras 2 full-model ``.h5``); IMPSY's file-name pattern
(``musicMDRNN-dim4-layers2-units64-mixtures5-scale10``); the shapes of the weights themselves.
The input scale (IMPSY's ``SCALE_FACTOR``) is never in a Keras config: it comes from the name
pattern (file name, then the Keras model name), else IMPSY's default of 10.
This module parses what it is handed; it opens no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from foretell.errors import ImportModelError

IMPSY_SCALE_FACTOR = 10.0
NAME_PATTERN = re.compile(
    r"(?:musicMDRNN-)?dim(?P<dimension>\d+)-layers(?P<layers>\d+)-units(?P<units>\d+)"
    r"-mixtures(?P<mixtures>\d+)(?:-scale(?P<scale>\d+(?:\.\d+)?))?"
)
SUPPORTED_RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid")
WEIGHTLESS_LAYERS = ("InputLayer", "Dropout")


@dataclass(frozen=True)
class ImpsyArchitecture:
    """An IMPSY MDRNN's shape and where it was read from (``source``, in words)."""

    dimension: int
    layers: int
    units: int
    mixtures: int
    source: str
    name: str = ""
    recurrent_activation: str = "sigmoid"

    def describe(self) -> str:
        return (
            f"dimension {self.dimension}, {self.layers} x {self.units} LSTM, "
            f"{self.mixtures} mixtures"
        )


# -- from a Keras config --------------------------------------------------------------------------


def _unwrap(layer: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A layer's class and config, looking through ``TimeDistributed`` (IMPSY's training model)."""
    cls, cfg = layer.get("class_name"), layer.get("config") or {}
    if cls == "TimeDistributed":
        inner = cfg.get("layer") or {}
        cls, cfg = inner.get("class_name"), inner.get("config") or {}
    return str(cls), cfg


def _check_lstm(cfg: dict[str, Any], origin: str) -> None:
    name = cfg.get("name", "?")
    problems = [
        (cfg.get("activation", "tanh") != "tanh", f"activation {cfg.get('activation')!r}"),
        (
            cfg.get("recurrent_activation", "sigmoid") not in SUPPORTED_RECURRENT_ACTIVATIONS,
            f"recurrent activation {cfg.get('recurrent_activation')!r}",
        ),
        (not cfg.get("use_bias", True), "no bias"),
        (bool(cfg.get("go_backwards", False)), "go_backwards"),
    ]
    for bad, what in problems:
        if bad:
            raise ImportModelError(
                f"{origin}: LSTM layer {name!r} has {what}, which an IMPSY MDRNN never has"
            )


def _input_dimension(cfg: dict[str, Any]) -> int | None:
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    return int(shape[-1]) if shape and len(shape) == 3 else None


def from_keras_config(config: dict[str, Any], origin: str) -> ImpsyArchitecture:
    """Read the architecture from a Keras functional-model config (Keras 2 or 3)."""
    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ImportModelError(f"{origin}: its Keras config lists no layers; not an IMPSY model")
    lstms: list[dict[str, Any]] = []
    mdns: list[dict[str, Any]] = []
    inputs: list[int] = []
    for layer in body["layers"]:
        if not isinstance(layer, dict):
            raise ImportModelError(f"{origin}: its Keras config is malformed (layer {layer!r})")
        cls, cfg = _unwrap(layer)
        if cls == "LSTM":
            _check_lstm(cfg, origin)
            lstms.append(cfg)
        elif cls == "MDN":
            mdns.append(cfg)
        elif cls == "InputLayer":
            dim = _input_dimension(cfg)
            inputs += [dim] if dim is not None else []
        elif cls not in WEIGHTLESS_LAYERS:
            raise ImportModelError(
                f"{origin}: layer {cfg.get('name', '?')!r} ({cls}) is not part of an IMPSY MDRNN"
            )
    return _from_layers(lstms, mdns, inputs, origin, str(body.get("name", "")))


def _from_layers(
    lstms: list[dict[str, Any]],
    mdns: list[dict[str, Any]],
    inputs: list[int],
    origin: str,
    name: str,
) -> ImpsyArchitecture:
    if not lstms or len(mdns) != 1:
        raise ImportModelError(
            f"{origin}: an IMPSY MDRNN has LSTM layers and one MDN layer; its config has "
            f"{len(lstms)} LSTM and {len(mdns)} MDN layers"
        )
    try:
        units = {int(cfg["units"]) for cfg in lstms}
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportModelError(f"{origin}: its LSTM layer config is malformed ({exc!r})") from exc
    if len(units) != 1:
        raise ImportModelError(
            f"{origin}: its LSTM layers have different sizes {sorted(units)}; foretell models "
            "use one size for every layer"
        )
    try:
        dimension, mixtures = int(mdns[0]["output_dimension"]), int(mdns[0]["num_mixtures"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportModelError(f"{origin}: its MDN layer config is malformed ({exc!r})") from exc
    if inputs and inputs[0] != dimension:
        raise ImportModelError(
            f"{origin}: its input has {inputs[0]} values but its MDN predicts {dimension}"
        )
    activations = {str(cfg.get("recurrent_activation", "sigmoid")) for cfg in lstms}
    return ImpsyArchitecture(
        dimension=dimension,
        layers=len(lstms),
        units=units.pop(),
        mixtures=mixtures,
        source="the file's own Keras config",
        name=name,
        recurrent_activation="hard_sigmoid" if "hard_sigmoid" in activations else "sigmoid",
    )


# -- from a name, or from the weights ----------------------------------------------------------


def from_name(name: str) -> ImpsyArchitecture | None:
    """The architecture in an IMPSY file name, or ``None`` when the name holds no pattern."""
    match = NAME_PATTERN.search(name)
    if match is None:
        return None
    return ImpsyArchitecture(
        dimension=int(match["dimension"]),
        layers=int(match["layers"]),
        units=int(match["units"]),
        mixtures=int(match["mixtures"]),
        source=f"the file-name pattern ({match.group(0)})",
        name=name,
    )


def from_shapes(dimension: int, layers: int, units: int, mixtures: int) -> ImpsyArchitecture:
    """The architecture implied by the weights (a file with no config and a renamed file)."""
    return ImpsyArchitecture(
        dimension,
        layers,
        units,
        mixtures,
        source="the weights' shapes (no config, no name pattern)",
    )


def scale_from_names(*labelled: tuple[str, str]) -> tuple[float, str]:
    """IMPSY's ``SCALE_FACTOR`` from the first ``(label, name)`` with ``-scaleN``, else 10."""
    for label, name in labelled:
        match = NAME_PATTERN.search(name)
        if match is not None and match["scale"] is not None:
            return float(match["scale"]), label
    return IMPSY_SCALE_FACTOR, "IMPSY's default SCALE_FACTOR; no -scaleN in the names"
