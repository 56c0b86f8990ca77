"""``MovesSpec``: a moves model's architecture (kind ``moves``), read and written with the file.

A moves model is the dense MDRNN's LSTM with a wider input (the event, one moved flag per
discrete control and, with ``step_inputs``, one step per grid control) and the head of
``foretell.model.control_kinds.MovesLayout``; its spec is the dense spec plus ``controls`` (one
``ControlKind`` per control), ``patterns`` (the moving sets it names), ``other_patterns`` (a
slot shared by the sets it does not name) and ``flat_ranges`` (per grid control, the cells its
flat distribution spans; a file without them, as every file written before they were, has no
flat part and plays as it did) and ``relative_grids`` (the grid controls whose logistic centres
are the head's output plus the control's previous value, in the network space; files without it
have none) and ``relative_gated`` (true where those centres are relative only while the control
did not move in the event just seen; files without it: always) and ``step_inputs`` (true where
the network also reads each grid control's step since the previous event,
``foretell.model.moves.step_inputs``; files without it do not).
NumPy only: training (``foretell.train``) and playing (``foretell.model.moves``) both build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import Any, ClassVar

from foretell.errors import ModelFileError
from foretell.model.control_kinds import MAX_PATTERNS, ControlKind, MovesLayout
from foretell.model.fileformat import ModelSpec

KIND_NAME = "moves"


@dataclass(frozen=True)
class MovesSpec(ModelSpec):
    """A dense spec's fields, and the controls' kinds and moving sets (see the module)."""

    kind: ClassVar[str] = KIND_NAME
    controls: tuple[ControlKind, ...] = ()
    patterns: tuple[int, ...] = (0,)
    other_patterns: bool = False
    flat_ranges: tuple[tuple[int, int], ...] = ()
    relative_grids: tuple[int, ...] = ()
    relative_gated: bool = False  # relative only where the control did not just move
    step_inputs: bool = False  # the network reads each grid control's step in cells

    @cached_property
    def layout(self) -> MovesLayout:
        return MovesLayout(
            self.mixtures,
            self.controls,
            self.patterns,
            self.other_patterns,
            self.flat_ranges,
            self.step_inputs,
        )

    def to_dict(self) -> dict[str, Any]:
        flat = {"flat_ranges": [list(r) for r in self.flat_ranges]} if self.flat_ranges else {}
        relative: dict[str, Any] = (
            {"relative_grids": list(self.relative_grids)} if self.relative_grids else {}
        )
        if self.relative_gated:
            relative["relative_gated"] = True
        if self.step_inputs:
            relative["step_inputs"] = True
        return {
            **super().to_dict(),
            "controls": [kind.to_dict() for kind in self.controls],
            "patterns": list(self.patterns),
            "other_patterns": self.other_patterns,
            **flat,
            **relative,
        }

    @classmethod
    def from_dict(cls, data: Any) -> MovesSpec:
        """The spec in a file's metadata, every value checked (``ModelFileError``)."""
        dense = ModelSpec.from_dict(data)
        count = dense.dimension - 1
        controls, patterns = data.get("controls"), data.get("patterns")
        if not isinstance(controls, list) or len(controls) != count:
            raise ModelFileError(f"model architecture needs one control kind per control ({count})")
        kinds = tuple(
            ControlKind.from_dict(kind, f"model control x{i + 1}")
            for i, kind in enumerate(controls)
        )
        limit = 2 ** sum(kind.discrete for kind in kinds)
        if (
            not isinstance(patterns, list)
            or not 1 <= len(patterns) <= MAX_PATTERNS
            or not all(isinstance(p, int) and 0 <= p < limit for p in patterns)
            or len(set(patterns)) != len(patterns)
        ):
            raise ModelFileError(
                f"model architecture needs 1 to {MAX_PATTERNS} distinct moving sets below {limit}"
            )
        other = data.get("other_patterns")
        if not isinstance(other, bool):
            raise ModelFileError("model architecture needs other_patterns, true or false")
        flat = _flat_ranges(data.get("flat_ranges", []), kinds)
        relative = _relative_grids(data.get("relative_grids", []), kinds)
        gated = data.get("relative_gated", False)
        if not isinstance(gated, bool) or (gated and not relative):
            raise ModelFileError(
                "model architecture's relative_gated needs true and relative_grids"
            )
        steps = data.get("step_inputs", False)
        if not isinstance(steps, bool) or (steps and not any(k.kind == "grid" for k in kinds)):
            raise ModelFileError("model architecture's step_inputs needs true and a grid control")
        fields = {f.name: getattr(dense, f.name) for f in dataclass_fields(dense)}
        return cls(
            **fields, controls=kinds, patterns=tuple(patterns), other_patterns=other,
            flat_ranges=flat, relative_grids=relative, relative_gated=gated, step_inputs=steps,
        )  # fmt: skip


def _flat_ranges(data: Any, kinds: tuple[ControlKind, ...]) -> tuple[tuple[int, int], ...]:
    """The flat ranges in a file's metadata: none, or one ``[first, last]`` cell per grid
    control within its levels (``ModelFileError`` otherwise)."""
    levels = [kind.levels for kind in kinds if kind.kind == "grid"]
    if data == []:
        return ()
    if (
        not isinstance(data, list)
        or len(data) != len(levels)
        or not all(
            isinstance(r, list)
            and len(r) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in r)
            and 0 <= r[0] <= r[1] < count
            for r, count in zip(data, levels, strict=False)
        )
    ):
        raise ModelFileError(
            f"model architecture's flat_ranges needs one [first, last] cell per grid control "
            f"({len(levels)})"
        )
    return tuple((r[0], r[1]) for r in data)


def _relative_grids(data: Any, kinds: tuple[ControlKind, ...]) -> tuple[int, ...]:
    """The relative grids in a file's metadata: distinct grid controls' indices, ascending."""
    grids = [i for i, kind in enumerate(kinds) if kind.kind == "grid"]
    if (
        not isinstance(data, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) and i in grids for i in data)
        or data != sorted(set(data))
    ):
        raise ModelFileError(
            "model architecture's relative_grids needs distinct grid controls' indices, ascending"
        )
    return tuple(data)


def relative_gates(spec: ModelSpec) -> list[int] | None:
    """For a gated relative-grid model, the network input's moved-flag column of each value
    ``relative_centres`` adds (the value is added only where that flag is 0: the control did not
    move in the event just seen); None for any other model."""
    centres = relative_centres(spec)
    if centres is None or not isinstance(spec, MovesSpec) or not spec.relative_gated:
        return None
    discrete = list(spec.layout.discrete)
    return [spec.dimension + discrete.index(column - 1) for column in centres[1]]


def relative_centres(spec: ModelSpec) -> tuple[list[int], list[int]] | None:
    """Where a relative-grid moves model adds the previous event to its head's output: the
    columns of every component's grid logistic centres, and the network input's columns of
    those controls' values (None for any other model)."""
    if not isinstance(spec, MovesSpec) or not spec.relative_grids:
        return None
    layout = spec.layout
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    grids = [(j, i) for j, i in enumerate(layout.grid_controls) if i in spec.relative_grids]
    centres = [c * g + dc + j for c in range(k) for j, _ in grids]
    inputs = [1 + i for _ in range(k) for _, i in grids]
    return centres, inputs


def moves_spec(dense: ModelSpec, controls: tuple[ControlKind, ...], patterns: tuple[int, ...],
               other_patterns: bool, flat_ranges: tuple[tuple[int, int], ...] = (),
               relative_grids: tuple[int, ...] = (),
               relative_gated: bool = False, step_inputs: bool = False) -> MovesSpec:  # fmt: skip
    """The moves spec with ``dense``'s architecture and these kinds, moving sets, flat
    ranges, grid centres (relative to the previous value or not, gated or not) and step
    inputs (only where it has a grid control)."""
    fields = {f.name: getattr(dense, f.name) for f in dataclass_fields(dense)}
    return MovesSpec(
        **fields, controls=controls, patterns=patterns, other_patterns=other_patterns,
        flat_ranges=flat_ranges, relative_grids=relative_grids,
        relative_gated=relative_gated and bool(relative_grids),
        step_inputs=step_inputs and any(kind.kind == "grid" for kind in controls),
    )  # fmt: skip
