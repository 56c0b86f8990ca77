"""The LSTM's number format: bfloat16 only where asked for or native, the head always float32."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from foretell.data.dataset import Dataset  # noqa: E402
from foretell.errors import ConfigError  # noqa: E402
from foretell.model.fileformat import ModelSpec  # noqa: E402
from foretell.model.torch_mdrnn import MDRNN  # noqa: E402
from foretell.model.transform import DataTransform  # noqa: E402
from foretell.train.config import TrainConfig  # noqa: E402
from foretell.train.loop import train  # noqa: E402
from foretell.train.precision import lstm_dtype, native_bfloat16  # noqa: E402
from tests.fixtures import bundled_performances  # noqa: E402

CPUINFO = Path("/proc/cpuinfo")


@pytest.mark.skipif(
    not CPUINFO.is_file() or platform.machine() not in ("x86_64", "AMD64"),
    reason="the kernel's x86 CPU flags are needed",
)
def test_native_bfloat16_is_what_the_kernel_says_the_cpu_has() -> None:
    flags = set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    assert native_bfloat16() == bool(flags & {"avx512_bf16", "amx_bf16"})


def test_auto_is_bfloat16_exactly_where_the_cpu_has_it() -> None:
    assert lstm_dtype("float32") == torch.float32
    assert lstm_dtype("bfloat16") == torch.bfloat16
    assert lstm_dtype("auto") == (torch.bfloat16 if native_bfloat16() else torch.float32)


def test_a_bfloat16_lstm_gives_nearly_the_float32_loss_and_float32_gradients() -> None:
    spec = ModelSpec(3, 2, 32, 4, DataTransform("log", 0.04, (0, 0, 0), (1, 1, 1)))
    torch.manual_seed(0)
    net = MDRNN(spec)
    z, y, weight = torch.randn(16, 25, 3), torch.randn(16, 25, 3), torch.full((16, 25), 1 / 400)
    exact = net.training_nll(z, y, weight)
    lowered = net.training_nll(z, y, weight, torch.bfloat16)
    assert lowered.item() != exact.item()  # it did compute in bfloat16
    assert lowered.item() == pytest.approx(exact.item(), rel=2e-2)
    lowered.backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in net.parameters())


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_training_records_its_lstm_precision(precision: str) -> None:
    data = Dataset(tuple(bundled_performances(limit=400)), 4, "small")
    config = TrainConfig(
        layers=1,
        units=16,
        mixtures=2,
        epochs=2,
        threads=1,
        precision=precision,
        kinds="dense",  # type: ignore[arg-type]
    )
    result = train(data, config)
    assert result.model.info["lstm_dtype"] == precision
    assert result.best_val_nll < 0  # it learned something in either format
    assert result.model.weights["lstm.0.weight_hh"].dtype.name == "float32"


def test_an_unknown_precision_or_beta2_is_refused_in_one_line() -> None:
    data = Dataset(tuple(bundled_performances(limit=100)), 4, "small")
    with pytest.raises(ConfigError, match="--precision is one of auto, float32, bfloat16"):
        train(data, TrainConfig(precision="float16"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="beta2"):
        train(data, TrainConfig(adam_beta2=1.0))
