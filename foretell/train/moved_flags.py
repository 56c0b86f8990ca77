"""The moved flags as a moves model trains on them: centred, the centring folded out when saved.

A moves model's network reads, after the event in the network space, one flag per discrete
control: 1 where the control moved in the event, else 0 (``foretell.model.moves.encode_inputs``).
The event's values are standardised on the training split; the flags are not, and a flag that
is 1 in most events (a drum pad's velocity moves in 99 % of them, the pad in 88 %) is then mostly
a second bias on every gate of the first layer, moved by Adam at its full rate beside the bias
itself. Training therefore feeds each such flag minus its mean on the training split, and
``fold`` writes that shift into the first layer's bias before the model is saved, so the file
reads raw flags, as every moves model's file does: its format, the NumPy runtime and the
network's function are unchanged; only the steps Adam takes differ. A flag that is 0 in most
events (one of four knobs, turned in 18-20 % of them) is no such bias and stays as it is: centred,
its "did not move" became an input in every event, and the knobs scored worse. Measured in
docs/model-format.md (the moves model's "Measured"): on the drum pads the tempo is learned in
more runs; dividing the centred flags by their spread as well was worse on the knobs and the
LightPad.

NumPy only: the shift acts on ``foretell.train.batches.Segments`` and on a ``.ftm`` weights dict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from foretell.model.fileformat import ModelSpec
from foretell.train.batches import Segments

USUALLY = 0.5  # a flag with a mean above this is 1 in most events: it is centred


@dataclass(frozen=True)
class FlagShift:
    """``flag - loc`` on the network's input columns from ``first`` (the moved flags)."""

    first: int
    loc: np.ndarray  # (Nd,) float32: a flag's mean on the training split where it is above
    # one half (the flag is usually 1), else 0

    @classmethod
    def fit(cls, spec: ModelSpec, train: Segments) -> FlagShift | None:
        """The shift of the flags in ``train`` (inputs of the moves model ``spec``): each flag
        that is 1 in most events by its mean, the others not at all; none for a dense model or
        one without discrete controls."""
        layout = spec.layout
        if layout is None or not layout.discrete:
            return None
        flags = train.z[:, spec.dimension : spec.dimension + len(layout.discrete)]
        mean = flags.astype(np.float64).mean(0)  # (Nd,)
        return cls(spec.dimension, np.where(mean > USUALLY, mean, 0.0).astype(np.float32))

    @property
    def _flags(self) -> slice:
        return slice(self.first, self.first + len(self.loc))

    def apply(self, segments: Segments) -> Segments:
        """``segments`` with their flags shifted (a copy; targets untouched)."""
        z = segments.z.copy()
        z[:, self._flags] -= self.loc
        return replace(segments, z=z)

    def fold(self, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Weights of a network trained on shifted flags, rewritten to read raw flags:
        ``W (f - loc) + b = W f + (b - W loc)`` in the first layer."""
        on_flags = weights["lstm.0.weight_ih"][:, self._flags].astype(np.float64)  # (4H, Nd)
        bias = weights["lstm.0.bias"].astype(np.float64) - on_flags @ self.loc.astype(np.float64)
        return {**weights, "lstm.0.bias": bias.astype(np.float32)}
