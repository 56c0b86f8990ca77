"""Read an IMPSY model's Keras weights out of an open HDF5 file, in any of Keras' layouts.

Layouts (detected from the file's structure, not its name):

- **Keras 2 weights-only** (``model.save_weights('x.h5')``): the root's ``layer_names`` attribute
  lists the layers; each layer group's ``weight_names`` lists its arrays in build order.
- **Keras 2 full model** (``model.save('x.h5')``): the same under a ``model_weights`` group, with
  the model's config in the root attribute ``model_config``. Old keras-mdn-layer versions left the
  MDN's three sub-layers unnamed (``kernel``, ``kernel_1``, ``kernel_2``); their build order is
  means, scales, weights.
- **Keras 3** (``model.weights.h5`` inside a ``.keras`` zip, or a bare ``.weights.h5``):
  ``layers/<lstm>/cell/vars/{0,1,2}`` and ``layers/<mdn>/<mdn_mus|mdn_sigmas|mdn_pi>/vars/{0,1}``.

Every layout yields the same ``KerasWeights``: Keras' own arrays, not yet in foretell's
convention (see ``convert``). h5py objects are passed in; this module never imports h5py.

Nothing is read before its declared shape is checked (``Budget``): at most two dimensions, at most
``MAX_ARRAY`` values in one array and ``MAX_TOTAL`` in all, and, where the file's config or name
declares an architecture, exactly one of the shapes that architecture has. A 4 KB file declaring a
40000 x 40000 array is one line of refusal, not 6 GB.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foretell.errors import ImportModelError

HEAD_PARTS = ("mus", "sigmas", "pis")
_HEAD_ALIASES = {
    "mus": "mus",
    "mu": "mus",
    "sigmas": "sigmas",
    "sigma": "sigmas",
    "pi": "pis",
    "pis": "pis",
}

LSTMWeights = tuple[np.ndarray, np.ndarray, np.ndarray]  # kernel (In, 4H), recurrent (H, 4H), bias
MAX_ARRAY = 1 << 23  # values in one array (32 MB of float32: a 1,024-unit LSTM's is 4M)
MAX_TOTAL = 1 << 25  # values in all of a file's arrays (128 MB of float32)
MAX_DEPTH = 8  # groups searched below a layer for the MDN's sub-layers


@dataclass
class Budget:
    """What a reader may allocate: the caps of the module docstring, and the shapes the declared
    architecture has (``shapes``; empty: none declared, any shape within the caps)."""

    shapes: Collection[tuple[int, ...]] = ()
    declared_by: str = ""
    max_array: int = MAX_ARRAY
    max_total: int = MAX_TOTAL
    spent: int = field(default=0)

    def read(self, dataset: Any, what: str, origin: str) -> np.ndarray:
        """``dataset`` as float32, once its declared shape passes (else ``ImportModelError``)."""
        shape = tuple(int(n) for n in getattr(dataset, "shape", None) or ())
        size = int(np.prod(shape, dtype=np.int64)) if shape else 0
        if not 1 <= len(shape) <= 2 or size == 0:
            raise ImportModelError(f"{origin}: {what} has shape {shape}; not a layer's weights")
        if size > self.max_array or self.spent + size > self.max_total:
            raise ImportModelError(
                f"{origin}: {what} declares shape {shape} ({size:,} values); refused before "
                f"reading (at most {self.max_array:,} in one array, {self.max_total:,} in all)"
            )
        if self.shapes and shape not in self.shapes:
            raise ImportModelError(
                f"{origin}: {what} declares shape {shape}, which {self.declared_by} does not have; "
                "refused before reading"
            )
        self.spent += size
        return np.asarray(dataset, dtype=np.float32)


@dataclass(frozen=True)
class KerasWeights:
    """An MDRNN's Keras arrays: LSTM layers in order, and the MDN's three dense sub-layers."""

    lstm: tuple[LSTMWeights, ...]
    head: dict[str, tuple[np.ndarray, np.ndarray]]  # "mus"/"sigmas"/"pis" -> kernel (H, n), bias
    layout: str


def _strings(value: Any) -> list[str]:
    """An HDF5 attribute holding names (bytes or str, scalar or array) as a list of str."""
    items = np.atleast_1d(np.asarray(value)).tolist()
    return [v.decode() if isinstance(v, bytes) else str(v) for v in items]


def _head_part(name: str) -> str | None:
    """``mus``/``sigmas``/``pis`` for an MDN sub-layer name (``mdn_mus``, ``sigmas``, ...)."""
    key = name.lower().removeprefix("mdn_")
    return _HEAD_ALIASES.get(key)


def _suffix_order(name: str) -> int:
    """Keras numbers repeated layers ``lstm``, ``lstm_1``, ``lstm_2``...: the creation order."""
    match = re.search(r"_(\d+)$", name)
    return int(match.group(1)) if match else 0


def detect_layout(root: Any) -> str | None:
    """The layout of an open HDF5 file (one of the module docstring's), or ``None``."""
    if "model_weights" in root and "layer_names" in root["model_weights"].attrs:
        return "Keras 2 full model (.h5)"
    if "layer_names" in root.attrs:
        return "Keras 2 weights-only (.h5)"
    if "layers" in root:
        return "Keras 3 weights (model.weights.h5)"
    return None


def read_weights(root: Any, origin: str, budget: Budget | None = None) -> KerasWeights:
    """Read the weights of an open HDF5 file in whichever layout it has, each array only once
    ``budget`` (default: the caps alone) passes its declared shape."""
    budget = budget or Budget()
    layout = detect_layout(root)
    if layout is None:
        raise ImportModelError(
            f"{origin}: this HDF5 file holds no Keras model weights (no layer_names, "
            "model_weights or layers); not an IMPSY model"
        )
    if layout.startswith("Keras 3"):
        lstm, head = _read_keras3(root["layers"], origin, budget)
    else:
        group = root.get("model_weights", root)
        lstm, head = _read_keras2(group, origin, budget)
    if not lstm or head is None:
        raise ImportModelError(
            f"{origin}: missing layers: found {len(lstm)} LSTM layers and "
            f"{'an' if head else 'no'} MDN layer; an IMPSY MDRNN has both"
        )
    return KerasWeights(tuple(lstm), head, layout)


# -- Keras 2 -------------------------------------------------------------------------------------

Head = dict[str, tuple[np.ndarray, np.ndarray]]


def _read_keras2(group: Any, origin: str, budget: Budget) -> tuple[list[LSTMWeights], Head | None]:
    lstm: list[LSTMWeights] = []
    head: Head | None = None
    for layer_name in _strings(group.attrs["layer_names"]):
        if layer_name not in group:
            raise ImportModelError(f"{origin}: layer {layer_name!r} is listed but missing")
        layer = group[layer_name]
        names = _strings(layer.attrs.get("weight_names", []))
        try:
            arrays = [budget.read(layer[name], f"weight {name!r}", origin) for name in names]
        except (KeyError, OSError) as exc:
            raise ImportModelError(
                f"{origin}: layer {layer_name!r} is missing a weight ({exc})"
            ) from exc
        if not arrays:
            continue
        if len(arrays) == 3:
            lstm.append(_keras2_lstm(layer_name, names, arrays, origin))
        elif len(arrays) == 6 and head is None:
            head = _keras2_head(names, arrays)
        else:
            raise ImportModelError(
                f"{origin}: layer {layer_name!r} has {len(arrays)} weight arrays; an IMPSY MDRNN "
                "has LSTM layers (3) and one MDN layer (6)"
            )
    return lstm, head


def _keras2_lstm(
    layer_name: str, names: list[str], arrays: list[np.ndarray], origin: str
) -> LSTMWeights:
    by_kind = {
        name.rsplit("/", 1)[-1].split(":")[0]: a for name, a in zip(names, arrays, strict=True)
    }
    try:
        return by_kind["kernel"], by_kind["recurrent_kernel"], by_kind["bias"]
    except KeyError as exc:
        raise ImportModelError(
            f"{origin}: layer {layer_name!r} is not an LSTM (weights {sorted(by_kind)})"
        ) from exc


def _keras2_head(names: list[str], arrays: list[np.ndarray]) -> Head:
    """Named sub-layers (``td_mdn/mus/kernel:0``) by name; unnamed ones in build order."""
    parts = [_head_part(name.split("/")[-2]) if name.count("/") else None for name in names]
    if all(parts[i] is not None for i in range(0, 6, 2)) and len(set(parts)) == 3:
        return {str(parts[i]): (arrays[i], arrays[i + 1]) for i in range(0, 6, 2)}
    return {part: (arrays[2 * i], arrays[2 * i + 1]) for i, part in enumerate(HEAD_PARTS)}


# -- Keras 3 -------------------------------------------------------------------------------------


def _vars(group: Any, count: int, what: str, origin: str, budget: Budget) -> list[np.ndarray]:
    if "vars" not in group or any(str(i) not in group["vars"] for i in range(count)):
        raise ImportModelError(f"{origin}: {what} is missing its weights")
    return [budget.read(group["vars"][str(i)], f"{what} array {i}", origin) for i in range(count)]


def _pair(group: Any, what: str, origin: str, budget: Budget) -> tuple[np.ndarray, np.ndarray]:
    kernel, bias = _vars(group, 2, what, origin, budget)
    return kernel, bias


def _find_head(group: Any, origin: str, budget: Budget, depth: int = 0) -> Head | None:
    """The MDN's three sub-layers anywhere under ``group`` (also inside ``TimeDistributed``)."""
    parts = {str(_head_part(name)): name for name in group if _head_part(name) is not None}
    if set(parts) == set(HEAD_PARTS):
        return {
            part: _pair(group[name], f"MDN sub-layer {name!r}", origin, budget)
            for part, name in parts.items()
        }
    if depth >= MAX_DEPTH:
        return None
    for name in group:
        child = group[name]
        if hasattr(child, "keys") and name != "vars":
            found = _find_head(child, origin, budget, depth + 1)
            if found is not None:
                return found
    return None


def _has_arrays(group: Any) -> bool:
    found: list[str] = []
    group.visit(lambda name: found.append(name) if hasattr(group[name], "shape") else None)
    return bool(found)


def _read_keras3(layers: Any, origin: str, budget: Budget) -> tuple[list[LSTMWeights], Head | None]:
    lstm_groups: list[tuple[int, str]] = []
    head: Head | None = None
    for name in layers:
        group = layers[name]
        if "cell" in group:
            lstm_groups.append((_suffix_order(name), name))
        elif (found := _find_head(group, origin, budget)) is not None:
            head = found
        elif _has_arrays(group):
            raise ImportModelError(
                f"{origin}: layer {name!r} is neither an LSTM nor an MDN; not an IMPSY MDRNN"
            )
    lstm: list[LSTMWeights] = []
    for _, name in sorted(lstm_groups):
        cell = layers[name]["cell"]
        kernel, recurrent, bias = _vars(cell, 3, f"LSTM layer {name!r}", origin, budget)
        lstm.append((kernel, recurrent, bias))
    return lstm, head
