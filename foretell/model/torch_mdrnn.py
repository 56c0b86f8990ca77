"""The MDRNN in PyTorch, for training only: stacked LSTM, mixture density head and its loss.

The whole training model is in this file. ``MDRNN`` is rebuilt from a ``ModelSpec`` alone and
reads and writes the ``.ftm`` weights dict (``foretell.model.fileformat``), so the NumPy runtime
(``foretell.model.runtime``) computes exactly what it computes. ``mdn_loss`` is the same density as
``foretell.model.mixture.log_density`` (floor component included), so the training objective *is*
the reported NLL, up to the data transform's Jacobian (which does not depend on the weights).

Shapes: B batch, T time steps, D dimension (dt + controls), H units, K mixtures, P = 2*K*D + K.
This module does no data handling and no training loop (see ``foretell.train``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.moves_spec import relative_centres, relative_gates
from foretell.model.torch_floats import EXP_FLOOR, exp_

LOG_2PI = math.log(2.0 * math.pi)
LSTMState = tuple[torch.Tensor, torch.Tensor]  # h, c: each (layers, B, H)


class MDRNN(nn.Module):
    """``layers`` stacked LSTMs of ``units`` units and a linear mixture head (raw layout of
    ``foretell.model.mixture``, sigma already made positive)."""

    def __init__(self, spec: ModelSpec, flag_loc: torch.Tensor | None = None) -> None:
        """``flag_loc``: the shift training feeds the moved flags with (``train.moved_flags``),
        which a gated relative centre undoes to read the raw flag (None: flags fed raw)."""
        super().__init__()
        self.spec = spec
        self.lstm = nn.LSTM(spec.input_dimension, spec.units, spec.layers, batch_first=True)
        self.head = nn.Linear(spec.units, spec.head_params)
        k, d = spec.mixtures, _gaussians(spec)
        self._sigma = slice(k * d, 2 * k * d)
        centres = relative_centres(spec)
        self._centres = None if centres is None else tuple(torch.tensor(c) for c in centres)
        gates = relative_gates(spec)
        self._gates = None if gates is None else torch.tensor(gates)
        self._gate_loc = (  # the shift of each gate's flag, undone before the gate reads it
            None
            if gates is None or flag_loc is None
            else flag_loc.index_select(0, torch.tensor(gates) - spec.dimension)
        )

    def init_head(self, weight_scale: float = 0.1) -> None:
        """Start the mixture the same way whatever the seed (training calls this): equal weights,
        sigmas of 1 (the data's spread: the network space is standardised), component k's mean at
        the standard normal's ``(k + 1/2) / K`` quantile in every dimension, and head weights
        scaled down so these biases dominate until the LSTM has something to say.

        With PyTorch's random head instead, about one seed in three never put a narrow component
        on the sharp peaks of dt (the instrument's sensor intervals) and settled about 0.8 nats
        per event worse (tried and worse: the data's quantiles as means, sigmas of 0.5, unscaled
        weights, a learning-rate warm-up, a lower learning rate)."""
        k, d = self.spec.mixtures, _gaussians(self.spec)
        levels = (torch.arange(k, dtype=torch.float64) + 0.5) / k  # (K,)
        means = torch.distributions.Normal(0.0, 1.0).icdf(levels).float()  # (K,)
        sigma = 1.0 - self.spec.sigma_min
        if self.spec.sigma_activation == "softplus":
            sigma_bias = math.log(math.expm1(sigma))
        else:
            sigma_bias = sigma - 1.0
        with torch.no_grad():
            self.head.weight.mul_(weight_scale)
            self.head.bias.zero_()
            self.head.bias[: k * d] = means.repeat_interleave(d)  # mu (K*D,) component-major
            self.head.bias[self._sigma] = sigma_bias

    def forward(
        self, z: torch.Tensor, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, LSTMState]:
        """Network-space inputs ``z (B, T, D)`` -> raw params ``(B, T, P)`` and the new state."""
        hidden, state = self.lstm(z, state)  # (B, T, H), ((L, B, H), (L, B, H))
        return self.mixture_params(hidden, z), state  # (B, T, P)

    def mixture_params(self, hidden: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The head: LSTM outputs ``(..., H)`` after inputs ``z (..., In)`` -> raw params
        ``(..., P)``, sigma activated."""
        return self.mixture_params_from(self.head_output(hidden, z))  # (..., P)

    def head_output(self, hidden: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The head's output ``(..., P)``, spreads not yet activated; a relative-grid moves
        model's grid centres are its output plus the inputs' values of those controls (the
        previous event's, network space: ``moves_spec.relative_centres``); a gated model's only
        where the control did not move in that event (its raw moved flag: the constructor's
        ``flag_loc`` undoes the shift training feeds the flags with)."""
        out = self.head(hidden)
        if self._centres is None:
            return out
        centres, inputs = self._centres
        shift = z.index_select(-1, inputs)  # (..., C)
        if self._gates is not None:
            flags = z.index_select(-1, self._gates)  # (..., C)
            if self._gate_loc is not None:
                flags = flags + self._gate_loc
            shift = shift * (1.0 - flags)
        return out.index_add(-1, centres, shift.to(out.dtype))

    def mixture_params_from(self, out: torch.Tensor) -> torch.Tensor:
        """The head's output ``(..., P)`` with its spreads activated."""
        sigma = self._activate_sigma(out[..., self._sigma])  # (..., K*D)
        return torch.cat([out[..., : self._sigma.start], sigma, out[..., self._sigma.stop :]], -1)

    def training_nll(
        self,
        z: torch.Tensor,
        y: torch.Tensor,
        weight: torch.Tensor,
        lstm_dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """``sum(weight * -log p(y))`` in the network space for inputs ``z (B, T, D)``, targets
        ``y (B, T, D)`` and weights ``(B, T)``: ``mdn_loss`` of ``forward``, with its gradient
        computed in the same pass (``MixtureNLL``), for training. ``lstm_dtype`` bfloat16 runs
        the LSTM alone in bfloat16 (``foretell.train.precision``); the head stays float32."""
        lower = lstm_dtype == torch.bfloat16
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=lower):
            hidden, _ = self.lstm(z)  # (B, T, H)
        out = self.head_output(hidden.float(), z)  # (B, T, P), sigma not yet activated
        if self.spec.layout is not None:  # a moves model's head
            from foretell.model.torch_moves import MovesNLL

            return MovesNLL.apply(out, y, weight, self.spec)
        return MixtureNLL.apply(out, y, weight, self.spec)

    def event_nll(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Network-space ``-log p`` per event: ``mdn_loss`` for a dense model,
        ``torch_moves.moves_loss`` (targets encoded by ``foretell.model.moves``) for a moves one."""
        if self.spec.layout is None:
            return mdn_loss(self.spec, raw, y)
        from foretell.model.torch_moves import moves_loss

        return moves_loss(self.spec, raw, y)

    def head_nll(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``event_nll`` from the head's output ``out (..., P)``, spreads not yet activated; a
        moves model's through its fused loss without the gradient (``torch_moves.moves_nll``:
        faster, the same density), for validation."""
        if self.spec.layout is None:
            return self.event_nll(self.mixture_params_from(out), y)
        from foretell.model.torch_moves import moves_nll

        return moves_nll(self.spec, out, y)

    def _activate_sigma(self, a: torch.Tensor) -> torch.Tensor:
        if self.spec.sigma_activation == "softplus":
            return F.softplus(a) + self.spec.sigma_min
        return F.elu(a) + 1.0 + self.spec.sigma_min

    # -- the .ftm weights dict -----------------------------------------------------------------

    def to_weights(self) -> dict[str, np.ndarray]:
        """The float32 tensors of a model file (``ModelSpec.tensor_shapes`` names and shapes)."""
        weights: dict[str, np.ndarray] = {}
        with torch.no_grad():
            for layer in range(self.spec.layers):
                lstm = self.lstm
                weights[f"lstm.{layer}.weight_ih"] = _numpy(getattr(lstm, f"weight_ih_l{layer}"))
                weights[f"lstm.{layer}.weight_hh"] = _numpy(getattr(lstm, f"weight_hh_l{layer}"))
                bias = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
                weights[f"lstm.{layer}.bias"] = _numpy(bias)  # (4H,)
            weights["head.weight"] = _numpy(self.head.weight)  # (P, H)
            weights["head.bias"] = _numpy(self.head.bias)  # (P,)
        return weights

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy a model file's tensors in (the summed LSTM bias goes to ``bias_ih``)."""
        with torch.no_grad():
            for layer in range(self.spec.layers):
                for name in ("weight_ih", "weight_hh"):
                    getattr(self.lstm, f"{name}_l{layer}").copy_(
                        torch.from_numpy(weights[f"lstm.{layer}.{name}"])
                    )
                getattr(self.lstm, f"bias_ih_l{layer}").copy_(
                    torch.from_numpy(weights[f"lstm.{layer}.bias"])
                )
                getattr(self.lstm, f"bias_hh_l{layer}").zero_()
            self.head.weight.copy_(torch.from_numpy(weights["head.weight"]))
            self.head.bias.copy_(torch.from_numpy(weights["head.bias"]))

    @classmethod
    def from_model_file(cls, model: ModelFile) -> MDRNN:
        """A torch model holding a model file's weights (e.g. for parity checks or fine-tuning)."""
        net = cls(model.spec)
        net.load_weights(model.weights)
        return net


def _gaussians(spec: ModelSpec) -> int:
    """How many Gaussian dimensions the head has: D, or a moves model's dt, continuous and grid."""
    return spec.dimension if spec.layout is None else spec.layout.gaussians


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32).copy()


def mdn_loss(spec: ModelSpec, raw: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``-log p(z)`` in the network space, per event: ``raw (..., P)``, ``z (..., D)`` -> ``(...)``.

    The same mixture as ``foretell.model.mixture.log_density``: K learned diagonal Gaussians sharing
    weight ``1 - floor_weight`` and the fixed floor ``N(0, floor_sigma^2 I)`` of weight
    ``floor_weight``. Subtract ``DataTransform.log_abs_det_jacobian`` for the data-space NLL.
    """
    k, d = spec.mixtures, spec.dimension
    lead = raw.shape[:-1]
    mu = raw[..., : k * d].reshape(*lead, k, d)  # (..., K, D)
    sigma = raw[..., k * d : 2 * k * d].reshape(*lead, k, d)  # (..., K, D)
    logits = raw[..., 2 * k * d :]  # (..., K)
    diff = (z.unsqueeze(-2) - mu) / sigma  # (..., K, D)
    component = -0.5 * diff.pow(2).sum(-1) - sigma.log().sum(-1) - 0.5 * d * LOG_2PI  # (..., K)
    weighted = F.log_softmax(logits, dim=-1) + component  # (..., K)
    if spec.floor_weight > 0:
        fs = spec.floor_sigma
        floor = (
            -0.5 * (z / fs).pow(2).sum(-1)
            - d * (math.log(fs) + 0.5 * LOG_2PI)
            + math.log(spec.floor_weight)
        )  # (...)
        weighted = torch.cat([weighted + math.log1p(-spec.floor_weight), floor.unsqueeze(-1)], -1)
    return -torch.logsumexp(weighted, dim=-1)  # (...)


class MixtureNLL(torch.autograd.Function):
    """``sum(weight * mdn_loss(spec, activate(out), z))`` and its gradient with respect to the
    head's output ``out (..., P)`` (sigma before its activation), computed together.

    The same density as ``mdn_loss``; the gradient is written out (with r_k the posterior of
    component k and pi its weight: ``-r_k u / sigma`` for the means, ``-r_k (u^2 - 1) / sigma``
    times the activation's slope for the spreads, ``pi_k sum(r) - r_k`` for the logits, u the
    standardised distance), so autograd records one node instead of the thirty-odd of
    ``mdn_loss``, which makes a training step faster. It works on contiguous copies of the
    slices (elementwise kernels on strided views are several times slower), sums over D as
    products with a vector of ones (faster than ``sum(-1)`` for a few dimensions) and divides
    once (a reciprocal). Timings: docs/evaluation/choices.md, "One training step".
    """

    @staticmethod
    def forward(
        ctx: Any, out: torch.Tensor, z: torch.Tensor, weight: torch.Tensor, spec: ModelSpec
    ) -> torch.Tensor:
        k, d = spec.mixtures, spec.dimension
        flat = out.reshape(-1, out.shape[-1])  # (N, P)
        n, kd = flat.shape[0], k * d
        a = flat[:, kd : 2 * kd].clamp(min=EXP_FLOOR)  # (N, K*D), contiguous (torch_floats)
        if spec.sigma_activation == "softplus":
            slope, sigma = torch.sigmoid(a), F.softplus(a).add_(spec.sigma_min)
        else:
            slope, sigma = torch.where(a > 0, 1.0, a.exp()), F.elu(a).add_(1.0 + spec.sigma_min)
        inv = sigma.reciprocal_().view(n, k, d)  # 1 / sigma
        u = (z.reshape(n, 1, d) - flat[:, :kd].view(n, k, d)).mul_(inv)  # (N, K, D)
        ones = torch.ones(d, dtype=out.dtype)  # sums over D as products: faster for small D
        log_pi = F.log_softmax(flat[:, 2 * kd :], dim=-1)  # (N, K)
        keep = math.log1p(-spec.floor_weight) if spec.floor_weight > 0 else 0.0
        weighted = (
            (inv.log().view(n * k, d) @ ones)
            .sub_((u * u).view(n * k, d) @ ones, alpha=0.5)
            .view(n, k)
            .add_(log_pi)
            .add_(keep - 0.5 * d * LOG_2PI)
        )  # (N, K): log(weight_k N(z; mu_k, sigma_k))
        columns = weighted
        if spec.floor_weight > 0:
            fs, zz = spec.floor_sigma, z.reshape(n, d)
            floor = ((zz * zz) @ ones).mul_(-0.5 / fs**2)
            floor.add_(math.log(spec.floor_weight) - d * (math.log(fs) + 0.5 * LOG_2PI))  # (N,)
            columns = torch.cat([weighted, floor.unsqueeze(-1)], -1)  # (N, K + 1)
        top = columns.amax(-1, keepdim=True)  # (N, 1)
        total = exp_(columns - top).sum(-1, keepdim=True).log_().add_(top)  # (N, 1)
        w = weight.reshape(n, 1)
        r = exp_(weighted - total).mul_(w)  # (N, K)
        r_u = (r.unsqueeze(-1) * u).mul_(inv)  # (N, K, D): r u / sigma
        grad = torch.empty_like(flat)
        grad[:, :kd] = r_u.view(n, kd).neg()
        spread = r_u.mul_(u).sub_(r.unsqueeze(-1) * inv)  # r (u^2 - 1) / sigma
        grad[:, kd : 2 * kd] = spread.view(n, kd).mul_(slope).neg_()
        grad[:, 2 * kd :] = exp_(log_pi).mul_(r.sum(-1, keepdim=True)).sub_(r)
        ctx.save_for_backward(grad.view(out.shape))
        return -(total.view(-1) @ w.view(-1))

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None
