"""``MovesSpec``: a moves model's architecture (kind ``moves``), read and written with the file.

A moves model is the dense MDRNN's LSTM with a wider input (the event and one moved flag per
discrete control) and the head of ``foretell.model.control_kinds.MovesLayout``; its spec is the
dense spec plus ``controls`` (one ``ControlKind`` per control), ``patterns`` (the moving sets it
names) and ``other_patterns`` (a slot shared by the sets it does not name). NumPy only: training
(``foretell.train``) and playing (``foretell.model.moves``) both build on it.
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

    @cached_property
    def layout(self) -> MovesLayout:
        return MovesLayout(self.mixtures, self.controls, self.patterns, self.other_patterns)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "controls": [kind.to_dict() for kind in self.controls],
            "patterns": list(self.patterns),
            "other_patterns": self.other_patterns,
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
        fields = {f.name: getattr(dense, f.name) for f in dataclass_fields(dense)}
        return cls(**fields, controls=kinds, patterns=tuple(patterns), other_patterns=other)


def moves_spec(dense: ModelSpec, controls: tuple[ControlKind, ...], patterns: tuple[int, ...],
               other_patterns: bool) -> MovesSpec:  # fmt: skip
    """The moves spec with ``dense``'s architecture and these kinds and moving sets."""
    fields = {f.name: getattr(dense, f.name) for f in dataclass_fields(dense)}
    return MovesSpec(**fields, controls=controls, patterns=patterns, other_patterns=other_patterns)
