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
