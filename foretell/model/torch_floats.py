"""float32 arithmetic for the training losses: ``exp`` kept off torch's slow path.

A training step's mixture has far-off components: their log-likelihoods, and the log of their
share of an event, lie hundreds or thousands below the best component's. Below about -87.3,
where the result is no longer a normal float32, torch's ``exp`` (and ``expm1``, ``softplus``,
``sigmoid`` near there) leaves its vectorised path and a whole tensor costs some fifty times
more. Raised to ``EXP_FLOOR`` first, such a value's ``exp`` changes by at most 1.6e-38, which
``foretell.train.step.denormals_flushed`` turns into the zero it was.
"""

from __future__ import annotations

import torch

EXP_FLOOR = -87.0  # exp(-87) is 1.6e-38, about float32's smallest normal number (1.2e-38)


def exp_(x: torch.Tensor) -> torch.Tensor:
    """``exp`` of ``x`` in place, its values first raised to ``EXP_FLOOR``."""
    return x.clamp_(min=EXP_FLOOR).exp_()
