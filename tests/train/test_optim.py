"""FlatAdam is torch's Adam and gradient clipping on one flat buffer, without torch._dynamo."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from foretell.train.loop import Plateau  # noqa: E402
from foretell.train.optim import FlatAdam  # noqa: E402


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.LSTM(3, 8, 2, batch_first=True))


def _loss(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out, _ = net(x)
    return (out**2).sum() * 10  # large enough for the clipping to act


def test_flat_adam_takes_torchs_adam_steps_with_clipping() -> None:
    ours, theirs = _net(), _net()
    theirs = copy.deepcopy(ours)
    flat = FlatAdam(ours, lr=1e-2)
    adam = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    for step in range(5):
        x = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(step))
        flat.zero_grad()
        _loss(ours, x).backward()
        flat.clip_grad_norm(1.0)
        flat.step()
        adam.zero_grad()
        _loss(theirs, x).backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
        adam.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert flat.params.numel() == sum(p.numel() for p in ours.parameters())


def test_training_does_not_import_dynamo() -> None:
    code = (
        "import sys, numpy as np\n"
        "from foretell.data.dataset import Dataset\n"
        "from foretell.train.config import TrainConfig\n"
        "from foretell.train.loop import train\n"
        "rng = np.random.default_rng(0)\n"
        "perfs = tuple(np.c_[rng.uniform(0.01, 0.1, 200), rng.uniform(0, 1, (200, 2))]"
        ".astype(np.float32) for _ in range(3))\n"
        "train(Dataset(perfs, 3, 'x'), TrainConfig(units=8, epochs=1))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_plateau_halves_after_patience_stalled_epochs() -> None:
    plateau = Plateau(patience=2, min_lr=0.01)
    rates = [plateau.rate(0.04, v) for v in (-1.0, -2.0, -2.0, -2.0)]
    assert rates == [0.04, 0.04, 0.04, 0.04]
    assert plateau.rate(0.04, -2.0) == 0.02  # the third stalled epoch in a row
    for _ in range(20):
        rate = plateau.rate(0.01, -2.0)
    assert rate == 0.01  # never below min_lr
