"""The training loss with its gradient written out is mdn_loss and autograd's gradient."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from foretell.model.fileformat import ModelSpec  # noqa: E402
from foretell.model.torch_mdrnn import MDRNN, mdn_loss  # noqa: E402
from foretell.model.transform import DataTransform  # noqa: E402

TRANSFORM = DataTransform("log", 0.04, (0, 0, 0), (1, 1, 1))


@pytest.mark.parametrize("activation", ["softplus", "elu1"])
@pytest.mark.parametrize("floor_weight", [1e-3, 0.0])
def test_training_nll_is_mdn_loss_with_its_gradient(activation: str, floor_weight: float) -> None:
    spec = ModelSpec(3, 2, 16, 4, TRANSFORM, activation, 0.01, floor_weight)  # type: ignore[arg-type]
    torch.manual_seed(0)
    fused, reference = MDRNN(spec), MDRNN(spec)
    reference.load_state_dict(fused.state_dict())
    z, y = torch.randn(5, 7, 3), torch.randn(5, 7, 3) * 2
    weight = torch.rand(5, 7)
    ours = fused.training_nll(z, y, weight)
    raw, _ = reference(z)
    theirs = (mdn_loss(spec, raw, y) * weight).sum()
    ours.backward()
    theirs.backward()
    assert torch.allclose(ours, theirs, rtol=1e-5)
    for a, b in zip(fused.parameters(), reference.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("activation", ["softplus", "elu1"])
def test_training_nll_holds_where_components_are_far_off(activation: str) -> None:
    """Narrow components far from the events (training has many) put exp's inputs far below
    -87, where the fused loss raises them (``torch_floats``) and a training step flushes
    denormals: its float32 loss and gradient still match float64 autograd."""
    from foretell.model.torch_mdrnn import MixtureNLL
    from foretell.train.step import denormals_flushed

    spec = ModelSpec(3, 2, 16, 4, TRANSFORM, activation, 0.01, 1e-3)  # type: ignore[arg-type]
    torch.manual_seed(0)
    net = MDRNN(spec).double()
    out = (net.head(torch.randn(5, 7, 16, dtype=torch.float64)) * 60).detach()
    y, weight = torch.randn(5, 7, 3, dtype=torch.float64), torch.rand(5, 7, dtype=torch.float64)
    kd = spec.mixtures * spec.dimension
    params = net.mixture_params_from(out)
    far = (params[..., :kd].abs() > 5) & (params[..., kd : 2 * kd] < 2 * spec.sigma_min)
    assert far.double().mean() > 0.2
    reference_out = out.clone().requires_grad_()
    reference = (mdn_loss(spec, net.mixture_params_from(reference_out), y) * weight).sum()
    reference.backward()
    ours_out = out.float().requires_grad_()
    with denormals_flushed():
        ours = MixtureNLL.apply(ours_out, y.float(), weight.float(), spec)
        ours.backward()
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    expected = reference_out.grad.numpy()
    assert ours_out.grad is not None
    assert torch.allclose(
        ours_out.grad.double(),
        reference_out.grad,
        rtol=1e-3,
        atol=1e-6 * float(abs(expected).max()),
    )
