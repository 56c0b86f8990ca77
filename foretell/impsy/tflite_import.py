"""Read the weights of IMPSY's builtins-only ``.tflite`` MDRNN, without TensorFlow.

IMPSY 1.1 converts its Keras model with TFLite builtins only, so the file is a FlatBuffer (read
with the ``tflite`` package, generated from TensorFlow Lite's schema) whose weights are constant
tensors. The graph has a fixed shape: the main subgraph runs one ``WHILE`` per LSTM layer (in
layer order), whose body holds two ``FULLY_CONNECTED`` ops (input kernel, recurrent kernel, both
``(4H, In)``) and a bias ``(4H)`` added by ``ADD``; then three ``FULLY_CONNECTED`` ops make the
MDN head: means, scales (the one feeding ``ELU``) and mixture logits. The arrays are returned in
Keras' orientation (``KerasWeights``), so ``convert`` checks and converts them like a ``.keras``
file's.

A file that needs TensorFlow's Flex ops (IMPSY before 1.1) raises ``FlexOpsError``, naming a
sibling ``.keras``/``.h5`` when there is one; any other problem is one ``ImportModelError`` line.
This module reads the file it is given and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell.errors import DependencyError, ImportModelError
from foretell.impsy.h5_layouts import KerasWeights

TFLITE_IDENTIFIER = b"TFL3"  # FlatBuffers file identifier, bytes 4..8
KERAS_SIBLINGS = (".keras", ".h5")
LAYOUT = "TensorFlow Lite builtins-only (.tflite)"
MAX_FILE = 128 << 20  # bytes: its weights are in the file, so this bounds what reading allocates
FLOAT_TYPES = {0: np.float32, 1: np.float16}  # tflite TensorType FLOAT32, FLOAT16
QUANTIZED_TYPES = {3: "uint8", 9: "int8", 7: "int16"}


class FlexOpsError(ImportModelError):
    """A ``.tflite`` file needs TensorFlow's Flex ops; ``sibling`` is a Keras file beside it."""

    def __init__(self, message: str, sibling: Path | None) -> None:
        super().__init__(message)
        self.sibling = sibling

    def __reduce__(self) -> tuple[Any, tuple[str, Path | None]]:
        return FlexOpsError, (str(self), self.sibling)  # crosses from the reading child


@dataclass(frozen=True)
class TfliteFile:
    """What a builtins-only IMPSY ``.tflite`` holds: its weights and its Keras model's name."""

    weights: KerasWeights
    name: str


def _require_tflite() -> Any:
    from foretell.install import install_hint

    try:
        import tflite
    except ImportError as exc:
        raise DependencyError(
            "reading IMPSY's .tflite files needs the tflite package, the impsy extra: "
            + install_hint("impsy")
        ) from exc
    return tflite


def keras_sibling(path: Path) -> Path | None:
    """The ``.keras`` or ``.h5`` file IMPSY saved beside ``path``, if there is one."""
    return next((s for s in map(path.with_suffix, KERAS_SIBLINGS) if s.is_file()), None)


def _flex_error(path: Path, ops: list[str]) -> FlexOpsError:
    sibling = keras_sibling(path)
    instead = (
        f"import {sibling.name} beside it instead"
        if sibling is not None
        else "import the .keras or .h5 file IMPSY saved with it instead"
    )
    return FlexOpsError(
        f"{path} needs TensorFlow's Flex ops ({', '.join(ops)}), which only TensorFlow runs; "
        f"{instead}",
        sibling,
    )


class _Graph:
    """One subgraph of the model, with the constant arrays and producers of its tensors."""

    def __init__(self, reader: _Reader, index: int) -> None:
        self.reader = reader
        self.graph = reader.model.Subgraphs(index)
        self.ops = [self.graph.Operators(i) for i in range(reader.count(self.graph, "Operators"))]
        self.inputs = (
            set(self.graph.InputsAsNumpy().tolist()) if self.graph.InputsLength() else set()
        )
        self.producer: dict[int, Any] = {}
        for op in self.ops:
            for out in _ints(op.OutputsAsNumpy(), op.OutputsLength()):
                self.producer[out] = op

    def kind(self, op: Any) -> str:
        return self.reader.op_names[op.OpcodeIndex()]

    def of_kind(self, kind: str) -> list[Any]:
        return [op for op in self.ops if self.kind(op) == kind]

    def constant(self, tensor: int) -> np.ndarray | None:
        """The constant array of ``tensor`` (through a ``DEQUANTIZE`` of float16), or ``None``."""
        if tensor < 0:
            return None
        producer = self.producer.get(tensor)
        if producer is not None:
            if self.kind(producer) != "DEQUANTIZE":
                return None
            source = self.constant(int(producer.Inputs(0)))
            return None if source is None else source.astype(np.float32)
        return self.reader.array(self.graph.Tensors(tensor))

    def consumers(self, tensor: int) -> list[Any]:
        return [op for op in self.ops if tensor in _ints(op.InputsAsNumpy(), op.InputsLength())]


def _ints(array: Any, length: int) -> list[int]:
    return [int(v) for v in array] if length else []


class _Reader:
    """The parsed FlatBuffer and the opcode names of its operators."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.tflite = _require_tflite()
        self.data = data
        self.path = path
        self.model = self.tflite.Model.GetRootAs(data, 0)
        names = {v: k for k, v in vars(self.tflite.BuiltinOperator).items() if k.isupper()}
        self.op_names: list[str] = []
        flex: list[str] = []
        for i in range(self.count(self.model, "OperatorCodes")):
            code = self.model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = names.get(builtin, f"builtin {builtin}")
            if name == "CUSTOM":
                custom = (code.CustomCode() or b"").decode("ascii", "replace")
                if custom.startswith("Flex"):
                    flex.append(custom.removeprefix("Flex"))
                name = f"custom op {custom!r}"
            self.op_names.append(name)
        if flex:
            raise _flex_error(path, flex)

    def count(self, table: Any, field: str) -> int:
        """``table``'s ``field`` length, refused when it could not fit in the file."""
        n = int(getattr(table, f"{field}Length")())
        if n < 0 or n * 4 > len(self.data):
            raise ImportModelError(f"{self.path} is corrupt (.tflite: {n} {field})")
        return n

    def array(self, tensor: Any) -> np.ndarray | None:
        dtype = FLOAT_TYPES.get(tensor.Type())
        buffer = self.model.Buffers(tensor.Buffer())
        if buffer is None:
            return None
        if buffer.DataLength():
            raw = buffer.DataAsNumpy().tobytes()
        elif buffer.Offset() > 1:
            start, size = int(buffer.Offset()), int(buffer.Size())
            raw = self.data[start : start + size]
        else:
            return None
        if dtype is None:
            return None  # integer constants: shapes, indices, loop bounds
        shape = tuple(int(v) for v in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        array = np.frombuffer(raw, dtype=dtype)
        if array.size != int(np.prod(shape)):
            raise ImportModelError(f"{self.path} is corrupt (.tflite: a tensor's data is cut)")
        return array.reshape(shape).astype(np.float32)


def _fc_weights(graph: _Graph, op: Any, origin: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A ``FULLY_CONNECTED`` op's constant weight ``(out, in)`` and bias (if constant)."""
    inputs = _ints(op.InputsAsNumpy(), op.InputsLength())
    weight = graph.constant(inputs[1]) if len(inputs) > 1 else None
    if weight is None or weight.ndim != 2:
        raise ImportModelError(
            f"{origin}: a dense layer has no constant weights; not an IMPSY MDRNN"
        )
    bias = graph.constant(inputs[2]) if len(inputs) > 2 else None
    return weight, bias


def _lstm_layer(graph: _Graph, origin: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One LSTM layer's Keras arrays from its ``WHILE`` body: kernel, recurrent kernel, bias."""
    if not {"LOGISTIC", "TANH", "SPLIT"} <= {graph.kind(op) for op in graph.ops}:
        raise ImportModelError(f"{origin}: a loop is not an LSTM cell; not an IMPSY MDRNN")
    dense = graph.of_kind("FULLY_CONNECTED")
    if len(dense) != 2:
        raise ImportModelError(
            f"{origin}: an LSTM cell has {len(dense)} dense ops (expected 2); not an IMPSY MDRNN"
        )
    recurrent = [op for op in dense if int(op.Inputs(0)) in graph.inputs]
    if len(recurrent) != 1:
        raise ImportModelError(f"{origin}: cannot tell an LSTM cell's recurrent kernel apart")
    kernel_op = next(op for op in dense if op is not recurrent[0])
    kernel, bias_k = _fc_weights(graph, kernel_op, origin)
    rec, bias_r = _fc_weights(graph, recurrent[0], origin)
    bias = np.zeros(kernel.shape[0], dtype=np.float32)
    for part in (bias_k, bias_r, *_added_constants(graph, kernel.shape[0])):
        if part is not None:
            bias = bias + part
    return kernel.T, rec.T, bias


def _added_constants(graph: _Graph, size: int) -> list[np.ndarray]:
    """Constant vectors of ``size`` that ``ADD`` ops add (the LSTM bias)."""
    found = []
    for op in graph.of_kind("ADD"):
        for tensor in _ints(op.InputsAsNumpy(), op.InputsLength()):
            value = graph.constant(tensor)
            if value is not None and value.shape == (size,):
                found.append(value)
    return found


def _head(main: _Graph, origin: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The MDN's three dense layers (Keras orientation ``(H, n)``) by part."""
    dense = main.of_kind("FULLY_CONNECTED")
    if len(dense) != 3:
        raise ImportModelError(
            f"{origin}: {len(dense)} dense ops after the LSTMs (an MDN head has 3); "
            "not an IMPSY MDRNN"
        )
    sigma = [
        op for op in dense if any(main.kind(c) == "ELU" for c in main.consumers(int(op.Outputs(0))))
    ]
    if len(sigma) != 1:
        raise ImportModelError(f"{origin}: cannot find the MDN's scale layer (dense -> ELU)")
    rest = sorted(
        (op for op in dense if op is not sigma[0]), key=lambda op: -_rows(main, op, origin)
    )
    parts = {}
    for part, op in zip(("mus", "pis"), rest, strict=True):
        parts[part] = op
    parts["sigmas"] = sigma[0]
    head = {}
    for part, op in parts.items():
        weight, bias = _fc_weights(main, op, origin)
        if bias is None:
            raise ImportModelError(f"{origin}: the MDN's {part} layer has no constant bias")
        head[part] = (weight.T, bias)
    return head


def _rows(graph: _Graph, op: Any, origin: str) -> int:
    return int(_fc_weights(graph, op, origin)[0].shape[0])


def _body_index(reader: _Reader, op: Any, origin: str) -> int:
    table = op.BuiltinOptions()
    if table is None:
        raise ImportModelError(f"{origin} is corrupt (.tflite: a loop has no options)")
    options = reader.tflite.WhileOptions()
    options.Init(table.Bytes, table.Pos)
    index = int(options.BodySubgraphIndex())
    if not 0 < index < reader.model.SubgraphsLength():
        raise ImportModelError(f"{origin} is corrupt (.tflite: a loop names subgraph {index})")
    return index


def _read(data: bytes, path: Path) -> TfliteFile:
    origin = str(path)
    reader = _Reader(data, path)
    if reader.count(reader.model, "Subgraphs") < 1:
        raise ImportModelError(f"{origin} holds no graph; not an IMPSY MDRNN")
    main = _Graph(reader, 0)
    loops = main.of_kind("WHILE")
    if not loops:
        raise ImportModelError(f"{origin} has no LSTM loops; not an IMPSY MDRNN")
    lstm = tuple(
        _lstm_layer(_Graph(reader, _body_index(reader, op, origin)), origin) for op in loops
    )
    weights = KerasWeights(lstm, _head(main, origin), LAYOUT)
    return TfliteFile(weights, _model_name(main))


def _model_name(main: _Graph) -> str:
    """The Keras model's name, the scope that prefixes the converted tensors' names."""
    for i in range(main.graph.TensorsLength()):
        name = (main.graph.Tensors(i).Name() or b"").decode("utf-8", "replace")
        if "/" in name:
            return name.split("/", 1)[0]
    return ""


def read_tflite_file(path: str | Path) -> TfliteFile:
    """The weights of an IMPSY builtins-only ``.tflite`` file (no conversion, no TensorFlow)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise ImportModelError(
                f"{path} is {size >> 20} MB; an IMPSY .tflite is at most {MAX_FILE >> 20} MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ImportModelError(f"{path} cannot be read ({exc.strerror})") from exc
    if data[4:8] != TFLITE_IDENTIFIER:
        raise ImportModelError(f"{path} is not a TensorFlow Lite file")
    try:
        return _read(data, path)
    except (ImportModelError, DependencyError):
        raise
    except Exception as exc:  # a hostile FlatBuffer fails in many ways
        raise ImportModelError(
            f"{path} is truncated or corrupt (.tflite: {type(exc).__name__})"
        ) from exc
