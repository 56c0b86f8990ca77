"""The moves model's loss in PyTorch, for training only: which controls move, and their values.

The network is ``foretell.model.torch_mdrnn.MDRNN`` with a wider input (the event and which of
its discrete controls moved) and the head of ``foretell.model.control_kinds.MovesLayout``.
Per event, in the network space, with ``m`` the slot of the moving set::

    p(x) = (1 - w_f) sum_k P(k, m) N(dt, continuous; mu_k, sigma_k)
                 prod_{grid i moving} P_k(cell_i) / (1 - P_k(previous cell_i))
                 prod_{set i moving}  softmax(logits_ki without the previous value)[value_i]
           (/ the number of unnamed subsets, where m is "other")
         + w_f N(dt, continuous; 0, floor_sigma) 2^-Nd prod_{discrete i moving} 1 / (cells_i - 1)

``P(k, m)`` is one softmax over every (component, slot) pair, so "exactly one of N controls moves"
is one slot per control, and the component (dt, values) is conditioned on the moving set. A grid
cell's probability is a logistic's mass over it (``log_cell``; end cells reach to infinity). A
moving discrete control cannot keep its cell, so its distribution leaves the previous cell out.
Controls that do not move contribute nothing: they keep their value exactly. The NumPy runtime
(``foretell.model.moves.log_likelihood``) computes the same density.

Why a logistic on the grid: its mass over a cell has a closed form that is stable in both tails
with two softplus and one ``log(1 - exp)``, where a Gaussian's needs ``log_ndtr`` twice and a
branch per tail; at size s on the four-knob set the Gaussian's training step cost 2.1x the dense
step, this one about 1.1x (``MovesNLL``).

Targets are one float32 row per event (``MovesLayout.target_columns``, written by
``foretell.model.moves.encode_targets``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch
from torch.nn import functional as F

from foretell.model.control_kinds import MovesLayout
from foretell.model.fileformat import ModelSpec
from foretell.model.torch_floats import EXP_FLOOR, exp_

LOG_2PI = math.log(2.0 * math.pi)
MASKED = 1e4  # subtracted from the previous value's logit: no mass left on it


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(x))`` for ``x < 0`` (within 1e-6 of it where ``exp(x)`` is tiny)."""
    return torch.log(-torch.expm1(x.clamp(EXP_FLOOR, -1e-6)))


def log_cell(
    mu: torch.Tensor, scale: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor
) -> torch.Tensor:
    """``log(sigmoid(b) - sigmoid(a))``, ``a = (lo - mu) / scale``, ``b = (hi - mu) / scale``:
    ``log(1 - exp(a - b)) - softplus(-b) - softplus(a)``, stable in both tails."""
    a, b = (lo - mu) / scale, (hi - mu) / scale
    return log1mexp(a - b) - F.softplus(-b) - F.softplus(a)


@lru_cache(maxsize=16)
def _floor_uniform(layout: MovesLayout) -> torch.Tensor:
    with torch.inference_mode(False):  # a normal tensor, for ``moves_loss``'s autograd too
        return torch.tensor(layout.floor_log_uniform(), dtype=torch.float32)


def moves_loss(spec: ModelSpec, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``-log p(y)`` per event in the network space: ``raw (..., P)`` (spreads activated),
    ``y (..., W)`` target rows -> ``(...)``. Subtract the Jacobian for the data space."""
    layout = spec.layout
    assert layout is not None
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    ng, sizes = len(layout.grid_controls), layout.set_sizes
    col = layout.target_columns()
    lead = raw.shape[:-1]
    nf = ng if layout.has_flat else 0
    parts = raw.split([k * g, k * g, *(k * c for c in sizes), k * layout.slots, k * nf], -1)
    mu = parts[0].reshape(*lead, k, g)  # (..., K, G)
    sigma = parts[1].reshape(*lead, k, g)  # (..., K, G)
    moved = y[..., col["moved"]]  # (..., Ng + Ns)
    # dt and the continuous controls: diagonal Gaussians
    zc = y[..., col["z"]]  # (..., Dc)
    u = (zc.unsqueeze(-2) - mu[..., :dc]) / sigma[..., :dc]  # (..., K, Dc)
    per_k = -0.5 * u.pow(2).sum(-1) - sigma[..., :dc].log().sum(-1) - 0.5 * dc * LOG_2PI
    # grid controls: the cell's mass, the previous cell left out
    if ng:
        mg, sg = mu[..., dc:], sigma[..., dc:]  # (..., K, Ng)
        cell = log_cell(mg, sg, y[..., col["lo"]].unsqueeze(-2), y[..., col["hi"]].unsqueeze(-2))
        prev = log_cell(
            mg, sg, y[..., col["prev_lo"]].unsqueeze(-2), y[..., col["prev_hi"]].unsqueeze(-2)
        )
        if nf:
            share = parts[-1].reshape(*lead, k, ng)  # logits of the flat share
            on, off = -F.softplus(-share), -F.softplus(share)  # log f, log(1 - f)
            cell = torch.logaddexp(off + cell, on + y[..., col["flat"]].unsqueeze(-2))
            prev = torch.logaddexp(off + prev, on + y[..., col["flat_prev"]].unsqueeze(-2))
        per_k = per_k + ((cell - log1mexp(prev)) * moved[..., :ng].unsqueeze(-2)).sum(-1)
    # set controls: a categorical without the previous value
    for j, size in enumerate(sizes):
        logits = parts[2 + j].reshape(*lead, k, size)  # (..., K, C)
        value = y[..., col["set"]][..., j].long()  # (...)
        previous = y[..., col["set_prev"]][..., j].long()
        mask = F.one_hot(previous, size).to(logits.dtype).unsqueeze(-2) * MASKED  # (..., 1, C)
        log_p = F.log_softmax(logits - mask, dim=-1)  # (..., K, C)
        chosen = log_p.gather(-1, value.reshape(*lead, 1, 1).expand(*lead, k, 1)).squeeze(-1)
        per_k = per_k + chosen * moved[..., ng + j].unsqueeze(-1)  # (..., K)
    # the component and the moving set, jointly
    joint = F.log_softmax(parts[-2], dim=-1).reshape(*lead, k, layout.slots)  # (..., K, S)
    slot = y[..., col["slot"]].long()  # (..., 1)
    per_k = per_k + joint.gather(-1, slot.unsqueeze(-2).expand(*lead, k, 1)).squeeze(-1)
    if layout.has_other:
        other = (slot.squeeze(-1) == len(layout.patterns)).to(per_k.dtype)  # (...)
        per_k = per_k + (other * layout.log_other_share).unsqueeze(-1)
    if spec.floor_weight > 0:
        fs = spec.floor_sigma
        floor = (
            -0.5 * (zc / fs).pow(2).sum(-1)
            - dc * (math.log(fs) + 0.5 * LOG_2PI)
            + math.log(spec.floor_weight)
            - len(layout.discrete) * math.log(2.0)
        )  # (...)
        if layout.movers:
            floor = floor + moved @ _floor_uniform(layout).to(raw.dtype)
        per_k = torch.cat([per_k + math.log1p(-spec.floor_weight), floor.unsqueeze(-1)], -1)
    return -torch.logsumexp(per_k, dim=-1)  # (...)


GRID_START_SCALE = math.sqrt(3.0) / math.pi  # a logistic's scale with a standard deviation of 1
FLAT_START_LOGIT = -2.0  # each component starts with 12 % of each grid control's mass flat


def start_grid_controls_alike(head: torch.nn.Linear, spec: ModelSpec) -> None:
    """After ``MDRNN.init_head``: every component starts with the same distribution on each grid
    control, a logistic centred on the data's mean with the data's spread (standard deviation 1
    in the network space), where ``init_head`` spreads the components' means over the standard
    normal's quantiles in every dimension.

    Spread out, the components started at the ends of a grid control's range stayed narrow
    there, and dt's sharp peaks got too few components: on the drum pads (velocity on a 7-bit
    grid, dt on a beat) dt scored about 1.5 nats per event worse than in the dense model
    (docs/model-format.md, the moves model's "Measured").
    """
    layout = spec.layout
    if layout is None or not layout.grid_controls:
        return
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    scale = GRID_START_SCALE - spec.sigma_min
    # the spread's activation inverted at ``scale`` (elu(a) + 1 is exp(a) below 1)
    softplus = spec.sigma_activation == "softplus"
    bias = math.log(math.expm1(scale)) if softplus else math.log(scale)
    with torch.no_grad():
        head.bias[: k * g].view(k, g)[:, dc:] = 0.0
        head.bias[k * g : 2 * k * g].view(k, g)[:, dc:] = bias
        if layout.has_flat:
            head.bias[layout.flat_start :] = FLAT_START_LOGIT


class MovesNLL(torch.autograd.Function):
    """``sum(weight * moves_loss(spec, activate(out), y))`` and its gradient with respect to the
    head's output ``out (..., P)`` (spreads before their activation), computed together, as
    ``foretell.model.torch_mdrnn.MixtureNLL`` does for the dense head (autograd over
    ``moves_loss`` records some sixty nodes: a training step 1.5x the dense one on the four-knob
    set). A grid control's terms are computed only for the (event, control) pairs where it
    moves (``_GridTerms``: on four knobs turned one at a time, under a fifth of them);
    training steps cost (docs/model-format.md, "Training cost") 1.1-1.3x the dense step.

    The work is parameter-major (``_nll_and_gradient``): the head's output transposed once to
    ``(P, N)`` and the targets to ``(W, N)``, each parameter's values over the events are one
    contiguous row, so every slice is a view, every reduction over components, a set's values
    or the joint's slots runs along an outer dimension (vectorised over the events, where over
    a last dimension of 5 to 20 values torch reduces a few at a time and a softmax takes a
    slower path still), and the gradient goes back as the transpose of a ``(P, N)`` tensor,
    which the head's matrix products read as it is.

    With ``r_k`` the posterior of component k (floor included in the normaliser), every term
    of ``L_k = log P(k, m) + log N + grid + sets`` gets ``-w r_k`` times its own derivative:
    the Gaussians' ``u / s`` and ``(u^2 - 1) / s``; a grid cell ``C = log(sig(B) - sig(A))``,
    ``A, B = (lo - mu) / s, (hi - mu) / s``, has ``dC/dB = exp(-softplus(B) - softplus(-B) - C)``
    and ``dC/dA = -exp(-softplus(A) - softplus(-A) - C)``, and the previous cell's
    ``log(1 - exp(C'))`` the factor ``-exp(C' - log(1 - exp(C')))``; a set ``onehot - softmax``;
    the joint logits ``pi sum(r) - r`` at the slot, ``pi sum(r)`` elsewhere.
    """

    @staticmethod
    def forward(
        ctx: Any, out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, spec: ModelSpec
    ) -> torch.Tensor:
        with torch.inference_mode():  # some 20 % less overhead on each of its hundred ops
            total, w, grad = _nll_and_gradient(out, y, weight, spec)
        assert grad is not None
        ctx.grad = grad.view(out.shape)  # an inference tensor: not for save_for_backward
        return -(total.view(-1) @ w.view(-1))

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad = ctx.grad
        del ctx.grad  # a second backward raises
        with torch.inference_mode():
            grad.mul_(grad_output)
        return grad, None, None, None


def moves_nll(spec: ModelSpec, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``moves_loss`` from the head's output ``out (..., P)`` (spreads not yet activated)
    through ``MovesNLL``'s computation, its gradient left out: ``-log p`` per event ``(...)``,
    faster than ``moves_loss`` (validation; no autograd)."""
    with torch.inference_mode():
        total, _, _ = _nll_and_gradient(out, y, torch.ones(out.shape[:-1]), spec, gradient=False)
        return total.view(out.shape[:-1]).neg()


def _nll_and_gradient(
    out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, spec: ModelSpec, gradient: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``MovesNLL``'s work: ``log p`` per event ``(1, N)``, the weights ``(1, N)`` and (unless
    ``gradient`` is false) the loss's gradient with respect to ``out`` as ``(N, P)``, the
    transpose of a contiguous ``(P, N)``. Shapes below: events last."""
    layout = spec.layout
    assert layout is not None
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    col = layout.target_columns()
    n, kg = out.numel() // out.shape[-1], k * g
    head = out.reshape(n, out.shape[-1]).t().contiguous()  # (P, N)
    yt = y.reshape(n, y.shape[-1]).t().contiguous()  # (W, N)
    w = weight.reshape(1, n).to(out.dtype)
    slope, inv = _spreads(head[kg : 2 * kg].view(k, g, n)[:, :dc], spec)  # (K, Dc, N) each
    zc = yt[col["z"]]  # (Dc, N)
    per_k, g_mu, g_s = _gaussian_terms(head[:kg].view(k, g, n)[:, :dc], inv, zc)
    grid = _GridTerms.of(head, yt, w, spec) if layout.grid_controls else None
    if grid is not None:
        per_k.index_add_(1, grid.rows, grid.log_p)
    moved = yt[col["moved"]]  # (Ng + Ns, N)
    set_grads = _set_terms(head, yt, moved, per_k, layout)
    # the component and the moving set: one softmax over every (component, slot) pair
    log_joint, joint = _log_softmax_over_rows(head[layout.joint_start : layout.flat_start])
    slot = yt[col["slot"]].long()  # (1, N)
    index = slot.view(1, 1, n).expand(k, 1, n)  # each component's slot
    per_k.add_(log_joint.view(k, layout.slots, n).gather(1, index).view(k, n))
    if layout.has_other:
        per_k.add_((slot == len(layout.patterns)).to(out.dtype) * layout.log_other_share)
    columns = per_k
    if spec.floor_weight > 0:
        per_k.add_(math.log1p(-spec.floor_weight))
        fs = spec.floor_sigma
        floor = (zc * zc).sum(0, keepdim=True).mul_(-0.5 / fs**2)  # (1, N)
        floor.add_(
            math.log(spec.floor_weight)
            - dc * (math.log(fs) + 0.5 * LOG_2PI)
            - len(layout.discrete) * math.log(2.0)
        )
        if layout.movers:
            uniform = _floor_uniform(layout).to(out.dtype).view(-1, 1)
            floor.add_((moved * uniform).sum(0, keepdim=True))
        columns = torch.cat([per_k, floor], 0)  # (K + 1, N)
    top = columns.amax(0, keepdim=True)
    total = exp_(columns - top).sum(0, keepdim=True).log_().add_(top)  # (1, N)
    if not gradient:
        return total, w, None
    r = exp_(per_k - total).mul_(w)  # (K, N): w r_k
    # dL/d(out) = -sum_k w r_k dL_k/d(out), the joint logits' softmax aside
    grad = torch.zeros_like(head)  # (P, N)
    grad[:kg].view(k, g, n)[:, :dc] = g_mu.mul_(r.unsqueeze(1)).neg_()
    grad[kg : 2 * kg].view(k, g, n)[:, :dc] = g_s.mul_(r.unsqueeze(1)).mul_(slope).neg_()
    if grid is not None:
        grid.scatter_gradient(grad, r)
    for begin, size, d_logits, f in set_grads:  # (softmax - onehot) f w r_k
        by_value = grad[begin : begin + k * size].view(k, size, n)
        torch.mul(d_logits, r.mul(f).unsqueeze(1), out=by_value)
    d_joint = joint.view(k, layout.slots, n).mul_(r.sum(0))  # pi sum(r)
    d_joint.scatter_add_(1, index, r.unsqueeze(1).neg())
    grad[layout.joint_start : layout.flat_start] = d_joint.view(k * layout.slots, n)
    return total, w, grad.t()


def _log_softmax_over_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``log_softmax`` over the first dimension of ``x (R, N)`` and its ``exp``, written out:
    each step runs over the ``N`` events at once."""
    shifted = x - x.amax(0, keepdim=True)
    exp = shifted.clamp(min=EXP_FLOOR).exp_()  # off exp's slow path (torch_floats)
    total = exp.sum(0, keepdim=True)
    return shifted.sub_(total.log()), exp.div_(total)


def _spreads(a: torch.Tensor, spec: ModelSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """The spread activation's slope and ``1 / s`` from the head's spread outputs ``a``
    (both new tensors, contiguous)."""
    a = a.clamp(min=EXP_FLOOR)  # off exp's slow path (torch_floats): the spread is sigma_min
    if spec.sigma_activation == "softplus":
        slope, sigma = torch.sigmoid(a), F.softplus(a).add_(spec.sigma_min)
    else:
        slope, sigma = a.clamp(max=0.0).exp_(), F.elu(a).add_(1.0 + spec.sigma_min)
    return slope, sigma.reciprocal_()


def _gaussian_terms(
    mu: torch.Tensor, inv: torch.Tensor, zc: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """dt and the continuous controls, means ``mu`` and ``1 / s`` ``inv`` ``(K, Dc, N)``,
    values ``zc (Dc, N)``: ``log N`` per component ``(K, N)`` and its derivatives
    ``dL_k/dmu``, ``dL_k/ds`` ``(K, Dc, N)``."""
    u = (zc - mu).mul_(inv)  # (K, Dc, N)
    uu = u * u
    per_k = inv.log().sum(1).sub_(uu.sum(1), alpha=0.5)  # (K, N)
    per_k.add_(-0.5 * mu.shape[1] * LOG_2PI)
    return per_k, u.mul_(inv), uu.sub_(1.0).mul_(inv)


class _GridTerms:
    """The grid controls' part of ``L_k``, computed only where a control moves in an event
    of weight above zero (a control that does not move contributes nothing): for each such
    (event, control) pair ``C(cell) - log(1 - exp(C(previous)))`` per component and its
    derivatives with respect to the control's mean, spread and flat logit. Each pair's head
    outputs (mean, spread, flat logit of every component) come in one ``index_select`` by flat
    index into the ``(P, N)`` head, its targets in another, and its gradient goes back in one
    ``index_copy_`` (indexing by rows and columns is several times slower; every operation
    here costs more in overhead than in arithmetic)."""

    def __init__(
        self, rows: torch.Tensor, at: torch.Tensor, log_p: torch.Tensor, d_head: torch.Tensor
    ) -> None:
        self.rows, self.at = rows, at  # (M,) each pair's event; (H * K * M,) flat indices
        self.log_p, self.d_head = log_p, d_head  # (K, M); (H, K, M): d/d(mu, spread, flat)

    @classmethod
    def of(
        cls, head: torch.Tensor, yt: torch.Tensor, w: torch.Tensor, spec: ModelSpec
    ) -> _GridTerms:
        """From the head's output ``(P, N)``, the targets ``(W, N)`` and the weights ``(1, N)``."""
        layout = spec.layout
        assert layout is not None
        k, ng = layout.mixtures, len(layout.grid_controls)
        n, col = head.shape[1], layout.target_columns()
        moving = (yt[col["moved"]][:ng] > 0) & (w > 0)  # (Ng, N)
        controls, rows = moving.nonzero(as_tuple=True)  # (M,) each
        m = rows.numel()
        pairs = torch.add(rows, controls, alpha=n)  # (M,): control 0's flat index of each
        offsets = _head_rows(layout)  # (H, K, 1)
        at = (offsets * n + pairs).view(-1)
        outputs = head.reshape(-1).index_select(0, at).view(len(offsets), k, m)  # (H, K, M)
        mu, raw_spread = outputs[0], outputs[1]
        slope, inv = _spreads(raw_spread, spec)  # (K, M)
        # targets: the cell's and the previous cell's bounds (and flat log masses): (T, 1, M)
        columns = _target_rows(layout)  # (T, 1)
        targets = yt.reshape(-1).index_select(0, (columns * n + pairs).view(-1))
        targets = targets.view(len(columns), 1, m)
        both, d_mu, d_s = _cell_and_slopes(mu, inv, targets[0:4])  # (2, K, M) each
        d_share = None
        if layout.has_flat:  # C = log((1 - f) L + f U), dC/dc = rho, dC/dalpha = 1 - f - rho
            share = outputs[2].clamp(EXP_FLOOR, -EXP_FLOOR)  # off exp's slow path (torch_floats)
            on = F.softplus(-share).neg_()  # log f
            off = on - share  # log(1 - f): softplus(x) = softplus(-x) + x
            logistic = both.add_(off)  # (2, K, M)
            mixed = torch.logaddexp(logistic, targets[4:6] + on)
            rho = exp_(logistic.sub_(mixed))  # the logistic's share of the cell's mass
            d_share = exp_(off).sub(rho)
            both, d_mu, d_s = mixed, d_mu.mul_(rho), d_s.mul_(rho)
        cell, prev = both[0], both[1]
        keep = log1mexp(prev)  # log(1 - P(previous))
        factor = exp_(prev - keep)  # d(-keep)/d(prev) = exp(prev - keep)
        d_head = torch.empty_like(outputs)  # (H, K, M)
        torch.addcmul(d_mu[0], d_mu[1], factor, out=d_head[0])
        torch.addcmul(d_s[0], d_s[1], factor, out=d_head[1]).mul_(slope)
        if d_share is not None:
            torch.addcmul(d_share[0], d_share[1], factor, out=d_head[2])
        return cls(rows, at, cell.sub_(keep), d_head)

    def scatter_gradient(self, grad: torch.Tensor, r: torch.Tensor) -> None:
        """Write ``-w r_k`` times the derivatives into ``grad (P, N)`` (zero elsewhere)."""
        r_m = r.index_select(1, self.rows).neg_()  # (K, M)
        grad.view(-1).index_copy_(0, self.at, self.d_head.mul_(r_m).view(-1))


@lru_cache(maxsize=16)
def _head_rows(layout: Any) -> torch.Tensor:
    """Head outputs of grid control 0's mean, spread and flat logit in each component,
    ``(H, K, 1)`` (H = 3 with a flat share, else 2); control c's are c further on."""
    k, g, dc, ng = layout.mixtures, layout.gaussians, layout.densities, len(layout.grid_controls)
    component = torch.arange(k)
    parts = [component * g + dc, component * g + k * g + dc]
    if layout.has_flat:
        parts.append(component * ng + layout.flat_start)
    return torch.stack(parts).unsqueeze(-1)


@lru_cache(maxsize=16)
def _target_rows(layout: Any) -> torch.Tensor:
    """Target columns of grid control 0's lo, previous lo, hi, previous hi (and flat log mass
    on the cell and the previous cell), ``(T, 1)``; control c's are c further on."""
    col, ng = layout.target_columns(), len(layout.grid_controls)
    lo = col["lo"].start
    columns = [lo, lo + 2 * ng, lo + ng, lo + 3 * ng]
    if layout.has_flat:
        columns += [col["flat"].start, col["flat_prev"].start]
    return torch.tensor(columns).unsqueeze(1)


def _set_terms(
    head: torch.Tensor, yt: torch.Tensor, moved: torch.Tensor, per_k: torch.Tensor, layout: Any
) -> list[tuple[int, int, torch.Tensor, torch.Tensor]]:
    """Add each moving set control's ``log softmax`` (previous value left out) to ``per_k``
    ``(K, N)``; return where each set's logits start, its size, ``-dL_k/dlogits`` where it
    moves (``softmax - onehot``, ``(K, C, N)``) and its moved flag ``(N,)`` (0 or 1: the caller
    scales by ``flag * w r_k`` in one product). The value and the previous value are 0/1 masks
    ``(C, N)``: ``gather``/``scatter`` cost more than the arithmetic here."""
    ng = len(layout.grid_controls)
    col = layout.target_columns()
    n = head.shape[1]
    start = layout.sets_start
    grads = []
    for j, size in enumerate(layout.set_sizes):
        values = _value_indices(size, head.device)  # (C, 1)
        is_value = (values == yt[col["set"].start + j]).to(head.dtype)  # (C, N)
        is_previous = (values == yt[col["set_prev"].start + j]).to(head.dtype)
        logits = head[start : start + layout.mixtures * size].view(layout.mixtures, size, n)
        masked = logits - is_previous.mul(MASKED)  # out of the maximum; no mass: see below
        shifted = masked.sub_(masked.amax(1, keepdim=True))
        exp = shifted.clamp(min=EXP_FLOOR).exp_().mul_(1.0 - is_previous)
        total = exp.sum(1)  # (K, N)
        f = moved[ng + j]  # (N,)
        chosen = shifted.mul_(is_value).sum(1)  # (K, N)
        per_k.add_(chosen.sub_(total.log()).mul_(f))
        grads.append((start, size, exp.div_(total.unsqueeze(1)).sub_(is_value), f))
        start += layout.mixtures * size
    return grads


@lru_cache(maxsize=16)
def _value_indices(size: int, device: torch.device) -> torch.Tensor:
    """``0 .. size - 1`` as ``(size, 1)`` floats (a set's value indices)."""
    with torch.inference_mode(False):  # a normal tensor, whoever asks first
        return torch.arange(size, dtype=torch.float32, device=device).view(size, 1)


def _cell_and_slopes(
    mu: torch.Tensor, inv: torch.Tensor, bounds: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two logistic cells' log masses ``C`` and ``dC/dmu``, ``dC/ds``, each ``(2, K, M)``, from
    the means and ``1 / s`` ``(K, M)`` and the bounds ``(4, 1, M)``: both cells' lower ends,
    then both upper ends. With ``x`` a bound in units of ``s`` from the mean, ``dC/dx`` is
    ``+-exp(x - 2 softplus(x) - C)`` (the logistic's density over the mass); the four bounds go
    through each operation together."""
    ab = (bounds - mu).mul_(inv)  # (4, K, M): A, A', B, B'
    sp = F.softplus(ab.clamp(min=EXP_FLOOR))  # off exp's slow path (torch_floats)
    a, b = ab[0:2], ab[2:4]
    # log(1 - exp(A - B)) - softplus(-B) - softplus(A), softplus(-B) = softplus(B) - B
    cell = log1mexp(a - b).sub_(sp[2:4]).add_(b).sub_(sp[0:2])
    density = exp_(torch.add(ab, sp, alpha=-2.0).view(2, 2, *cell.shape[1:]).sub_(cell))
    density = density.view(ab.shape)  # (4, K, M): -dC/dA, -dC/dA', dC/dB, dC/dB'
    d_mu = (density[0:2] - density[2:4]).mul_(inv)
    moment = ab.mul_(density)
    d_s = (moment[0:2] - moment[2:4]).mul_(inv)
    return cell, d_mu, d_s
