"""The ``.ftm`` model file: one safetensors file (float32 weights) with JSON metadata in its header.

Loading never executes code (safetensors holds raw tensors and a JSON header; no pickle), checks
the format version, a SHA-256 of every weight, and every tensor's shape against the architecture,
and reports any problem as one ``ModelFileError`` line. See ``docs/model-format.md``.

The metadata's ``kind`` names the kind of model (``foretell.model.kinds``; none means ``dense``),
whose ``read_spec`` reads the architecture; the tensors are checked against its spec. The dense
MDRNN's spec is ``ModelSpec`` below.

Dense tensors (PyTorch's LSTM conventions, gate order i, f, g, o):
``lstm.{l}.weight_ih (4H, In_l)``, ``lstm.{l}.weight_hh (4H, H)``, ``lstm.{l}.bias (4H)`` (the sum
of PyTorch's two biases), ``head.weight (P, H)``, ``head.bias (P)`` with ``P = 2*K*D + K``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np

from foretell import __version__
from foretell.errors import ModelFileError
from foretell.model.checks import integer, number
from foretell.model.control_kinds import MovesLayout
from foretell.model.kinds import DEFAULT_KIND, kind_module
from foretell.model.mixture import MixtureShape
from foretell.model.transform import DataTransform

FORMAT_NAME = "foretell-model"
FORMAT_VERSION = 1
METADATA_KEY = "foretell"
SigmaActivation = Literal["softplus", "elu1"]
DEFAULT_SIGMA_MIN = 1e-3  # the narrowest mixture spread, in network units
SIZE_PRESETS = {"xxs": 16, "xs": 32, "s": 64, "m": 128, "l": 256, "xl": 512}
PRESET_LAYERS = {"xl": 3}  # IMPSY's xl has three layers; every other preset two
MAX_HEADER = 4 << 20  # bytes of a safetensors header (JSON): ours are a few kB
SIGMA_ACTIVATIONS = ("softplus", "elu1")


class FileSpec(Protocol):
    """What a model file needs of any kind's architecture (``foretell.model.protocol``)."""

    kind: ClassVar[str]  # written to the metadata; ``foretell.model.kinds`` maps it to code

    @property
    def dimension(self) -> int: ...

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]: ...

    def parameter_count(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=FileSpec)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a dense model from its weights (nanoGPT's ``model_args``).

    ``sigma_activation``: ``softplus`` gives ``sigma = softplus(a) + sigma_min`` (foretell);
    ``elu1`` gives ``sigma = elu(a) + 1 + sigma_min`` (IMPSY's ``elu_plus_one_plus_epsilon``).
    """

    kind: ClassVar[str] = DEFAULT_KIND
    dimension: int
    layers: int
    units: int
    mixtures: int
    transform: DataTransform
    sigma_activation: SigmaActivation = "softplus"
    sigma_min: float = DEFAULT_SIGMA_MIN
    floor_weight: float = 1e-3
    floor_sigma: float = 4.0

    @property
    def mixture(self) -> MixtureShape:
        return MixtureShape(self.mixtures, self.dimension)

    @property
    def layout(self) -> MovesLayout | None:
        """Where a moves model's parameters sit in its output (``foretell.model.moves_spec``);
        ``None`` for the dense model."""
        return None

    @property
    def input_dimension(self) -> int:
        """The network's input width: D, plus one moved flag per discrete control."""
        layout = self.layout
        return self.dimension if layout is None else layout.inputs

    @property
    def head_params(self) -> int:
        """P, the width of the head's output."""
        layout = self.layout
        return self.mixture.params if layout is None else layout.params

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """The exact tensors (and shapes) a model file of this spec must hold."""
        h = self.units
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.layers):
            inputs = self.input_dimension if layer == 0 else h
            shapes[f"lstm.{layer}.weight_ih"] = (4 * h, inputs)
            shapes[f"lstm.{layer}.weight_hh"] = (4 * h, h)
            shapes[f"lstm.{layer}.bias"] = (4 * h,)
        shapes["head.weight"] = (self.head_params, h)
        shapes["head.bias"] = (self.head_params,)
        return shapes

    def parameter_count(self) -> int:
        return int(sum(np.prod(s) for s in self.tensor_shapes().values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "layers": self.layers,
            "units": self.units,
            "mixtures": self.mixtures,
            "sigma_activation": self.sigma_activation,
            "sigma_min": self.sigma_min,
            "floor_weight": self.floor_weight,
            "floor_sigma": self.floor_sigma,
            "transform": self.transform.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        """The spec in a file's metadata, every value checked; ``ModelFileError`` names the
        first one that is missing, of the wrong type or out of range."""
        if not isinstance(data, dict):
            raise ModelFileError(f"model architecture must be an object, not {type(data).__name__}")
        activation = data.get("sigma_activation", "softplus")
        if activation not in SIGMA_ACTIVATIONS:
            raise ModelFileError(f"model architecture has unknown sigma activation {activation!r}")
        where = "model architecture"
        spec = cls(
            dimension=integer(data, "dimension", 2, 1024, where),
            layers=integer(data, "layers", 1, 16, where),
            units=integer(data, "units", 1, 8192, where),
            mixtures=integer(data, "mixtures", 1, 1024, where),
            transform=DataTransform.from_dict(data.get("transform")),
            sigma_activation=activation,
            sigma_min=number(data, "sigma_min", 1e-12, 1.0, where, DEFAULT_SIGMA_MIN),
            floor_weight=number(data, "floor_weight", 0.0, 0.999999, where, 0.0),
            floor_sigma=number(data, "floor_sigma", 1e-6, 1e6, where, 1.0),
        )
        if spec.transform.dimension != spec.dimension:
            raise ModelFileError("model architecture is invalid: transform and dimension disagree")
        return spec


@dataclass(frozen=True)
class ModelFile(Generic[S]):
    """A loaded model: its spec (of any kind), float32 weights and free-form metadata (training,
    source)."""

    spec: S
    weights: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)

    def with_info(self, **updates: Any) -> ModelFile[S]:
        return replace(self, info={**self.info, **updates})


def weights_digest(
    weights: dict[str, np.ndarray], architecture: dict[str, Any] | None = None
) -> str:
    """SHA-256 of every weight and, when given, of the architecture (canonical JSON) before them."""
    digest = hashlib.sha256()
    if architecture is not None:
        digest.update(json.dumps(architecture, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(weights[name], dtype=np.float32).tobytes())
    return digest.hexdigest()


def check_weights(spec: FileSpec, weights: dict[str, np.ndarray], source: str) -> None:
    """Raise naming the first missing, extra, misshapen or non-finite tensor."""
    expected = spec.tensor_shapes()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{source}: tensors do not match the architecture "
            f"(missing {missing or 'none'}, unexpected {extra or 'none'})"
        )
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise ModelFileError(
                f"{source}: tensor {name} has shape {tuple(weights[name].shape)}, expected {shape}"
            )
        if not np.isfinite(weights[name]).all():
            raise ModelFileError(f"{source}: tensor {name} holds NaN or infinite values")


def save_model(path: str | Path, model: ModelFile) -> Path:
    """Write ``model`` atomically (temporary file, then rename) and return the path."""
    from safetensors.numpy import save_file

    path = Path(path)
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in model.weights.items()}
    check_weights(model.spec, weights, str(path))
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "foretell_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "kind": model.spec.kind,
        "architecture": model.spec.to_dict(),
        "weights_sha256": weights_digest(weights),
        "sha256": weights_digest(weights, model.spec.to_dict()),
        "info": model.info,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    save_file(weights, str(temporary), metadata={METADATA_KEY: json.dumps(meta)})
    temporary.replace(path)
    return path


def _check_header(path: Path) -> None:
    """The header-size field, checked before anything parses the header."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            field = handle.read(8)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path} ({exc.strerror or exc})") from exc
    if len(field) < 8:
        raise ModelFileError(f"{path} is not a foretell model file (only {size} bytes)")
    claimed = int.from_bytes(field, "little")
    if claimed > MAX_HEADER or claimed + 8 > size:
        raise ModelFileError(
            f"{path} is not a foretell model file (its header claims {claimed} bytes; the file has "
            f"{size}, and a model header is at most {MAX_HEADER})"
        )


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file, checked for format and version."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    _check_header(path)
    try:
        with safe_open(str(path), framework="np") as handle:
            header = handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for every bad header
        raise ModelFileError(
            f"{path} is not a foretell model file (unreadable header: {exc})"
        ) from exc
    if METADATA_KEY not in header:
        raise ModelFileError(f"{path} is a safetensors file without foretell metadata")
    try:
        meta: Any = json.loads(header[METADATA_KEY])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path} has corrupt metadata ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path} has corrupt metadata (not a JSON object)")
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a foretell model file (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version!r}; this foretell reads version "
            f"{FORMAT_VERSION} (foretell {meta.get('foretell_version', '?')!r} wrote it)"
        )
    if not isinstance(meta.get("info", {}), dict):
        raise ModelFileError(f"{path} has corrupt metadata (info is not an object)")
    return meta


def load_model(path: str | Path) -> ModelFile:
    """Read, verify and return a model file; any problem is one ``ModelFileError`` line."""
    try:
        return _load(Path(path))
    except ModelFileError:
        raise
    except Exception as exc:  # whatever else a hostile file provokes is still one line
        raise ModelFileError(f"{path} cannot be loaded ({type(exc).__name__}: {exc})") from exc


def _load(path: Path) -> ModelFile:
    from safetensors import safe_open

    meta = read_metadata(path)
    try:
        kind = kind_module(meta.get("kind", DEFAULT_KIND)).KIND
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    spec = kind.read_spec(meta.get("architecture", {}))
    try:
        with safe_open(str(path), framework="np") as handle:
            weights = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:
        raise ModelFileError(f"{path} is truncated or corrupt ({exc})") from exc
    check_weights(spec, weights, str(path))
    if weights_digest(weights) != meta.get("weights_sha256"):
        raise ModelFileError(f"{path} is corrupt: its weights do not match their checksum")
    whole = meta.get("sha256")  # files before this field: weights only, architecture checked
    if whole is not None and weights_digest(weights, meta["architecture"]) != whole:
        raise ModelFileError(f"{path} is corrupt: its architecture does not match its checksum")
    return ModelFile(spec=spec, weights=weights, info=dict(meta.get("info", {})))
