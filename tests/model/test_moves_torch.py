"""The moves model's torch loss and network against the NumPy runtime (training = playing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.model import moves
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, load_model, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import build_model
from foretell.model.transform import DataTransform

torch = pytest.importorskip("torch")
from foretell.model.torch_mdrnn import MDRNN  # noqa: E402
from foretell.model.torch_moves import moves_loss  # noqa: E402

CONTROLS = (
    ControlKind("grid", origin=0.0, step=0.25, levels=5),
    ControlKind("continuous"),
    ControlKind("set", values=(0.0, 0.5, 1.0)),
    ControlKind("grid", origin=0.0, step=1 / 127, levels=128),
)


FLAT = ((1, 3), (40, 100))  # some of _performance's cells lie outside: the flat part has none


def _spec(
    floor: float,
    flat: tuple[tuple[int, int], ...] = (),
    relative: bool = False,
    gated: bool = False,
) -> MovesSpec:
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5, 0.5), (1.0, 0.3, 0.3, 0.3, 0.3))
    return MovesSpec(
        5, 2, 16, 3, transform, floor_weight=floor, controls=CONTROLS, patterns=(0, 1, 4, 5),
        other_patterns=True, flat_ranges=flat, relative_grids=(0, 3) if relative else (),
        relative_gated=gated,
    )  # fmt: skip


def _performance(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = [[0.1, 0.5, 0.5, 0.5, 0.5]]
    for _ in range(n - 1):
        row = list(rows[-1])
        row[0] = float(rng.exponential(0.1))
        row[2] = float(rng.uniform())
        for c, options in ((1, [0.0, 0.25, 0.5]), (3, [0.0, 0.5, 1.0]), (4, [0.3, 0.5, 0.7])):
            if rng.uniform() < 0.5:
                row[c] = float(rng.choice(options))
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize(("floor", "flat"), [(0.0, ()), (1e-3, ()), (1e-3, FLAT)])
def test_the_torch_loss_is_the_numpy_likelihood(
    floor: float, flat: tuple[tuple[int, int], ...]
) -> None:
    spec = _spec(floor, flat)
    layout = spec.layout
    assert layout is not None
    rng = np.random.default_rng(0)
    performance = _performance(rng, 400)
    raw = rng.normal(size=(400, layout.params))
    k, g = layout.mixtures, layout.gaussians
    raw[:, k * g : 2 * k * g] = np.abs(raw[:, k * g : 2 * k * g]) * 0.5 + 0.01  # some narrow
    targets = moves.encode_targets(spec, performance)
    expected = moves.log_likelihood(spec, raw, targets)
    got = -moves_loss(spec, torch.from_numpy(raw), torch.from_numpy(targets).double()).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)  # log(1 - exp) clamped at -1e-6
    assert (np.abs(expected[1:]) < 1e3).all()  # row 0 is never a target


@pytest.mark.parametrize(
    ("flat", "relative", "gated"),
    [((), False, False), (FLAT, False, False), (FLAT, True, False), (FLAT, True, True)],
)
def test_the_runtime_steps_the_network_torch_trained(
    tmp_path: Path, flat: tuple[tuple[int, int], ...], relative: bool, gated: bool
) -> None:
    spec = _spec(1e-3, flat, relative, gated)
    torch.manual_seed(0)
    net = MDRNN(spec)
    performance = _performance(np.random.default_rng(1), 300)
    path = save_model(tmp_path / "m.ftm", ModelFile(spec, net.to_weights()))
    runtime = build_model(load_model(path)).voice()
    numpy_raw = np.stack(
        [runtime.observe(event)[: spec.head_params].copy() for event in performance]
    )
    with torch.no_grad():
        x = torch.from_numpy(moves.encode_inputs(spec, performance))[None]
        torch_raw = net(x)[0][0].numpy()
    assert numpy_raw.shape == torch_raw.shape == (300, spec.head_params)
    assert np.abs(numpy_raw - torch_raw).max() <= 1e-5
    scored = moves.performance_log_likelihood(spec, numpy_raw, performance)
    with torch.no_grad():
        y = torch.from_numpy(moves.encode_targets(spec, performance))[1:]
        loss = net.event_nll(torch.from_numpy(torch_raw[:-1]), y).numpy()
    np.testing.assert_allclose(-loss + moves.jacobian(spec, performance[1:]), scored, atol=1e-4)


@pytest.mark.parametrize(("floor", "flat"), [(0.0, ()), (1e-3, ()), (0.0, FLAT), (1e-3, FLAT)])
def test_the_written_out_gradient_is_autograds(
    floor: float, flat: tuple[tuple[int, int], ...]
) -> None:
    spec = _spec(floor, flat)
    torch.manual_seed(0)
    net = MDRNN(spec).double()
    performance = _performance(np.random.default_rng(2), 200)
    hidden = torch.randn(1, 200, 16, dtype=torch.float64)
    y = torch.from_numpy(moves.encode_targets(spec, performance)).double()[None, 1:]
    weight = torch.rand(1, 199, dtype=torch.float64)
    out = net.head(hidden[:, :-1]).detach().requires_grad_()
    _assert_fused_is_autograd(spec, net, out, y, weight)


@pytest.mark.parametrize("flat", [(), FLAT])
def test_the_written_out_gradient_holds_where_components_are_far_off(
    flat: tuple[tuple[int, int], ...],
) -> None:
    """Narrow components far from an event (training has many) put exp's inputs far below
    -87, where ``MovesNLL`` raises them (torch's slow path) and a training step flushes the
    denormals below float32's smallest normal number: its float32 loss and gradient still
    match float64 autograd."""
    from foretell.model.torch_moves import MovesNLL
    from foretell.train.step import denormals_flushed

    spec = _spec(1e-3, flat)
    torch.manual_seed(0)
    net = MDRNN(spec).double()
    performance = _performance(np.random.default_rng(4), 200)
    y = torch.from_numpy(moves.encode_targets(spec, performance)).double()[None, 1:]
    weight = torch.rand(1, 199, dtype=torch.float64)
    far = (net.head(torch.randn(1, 199, 16, dtype=torch.float64)) * 60).detach()
    params = net.mixture_params_from(far)
    means, spreads = (
        params[..., : spec.mixtures * 5],
        params[..., spec.mixtures * 5 :][..., : spec.mixtures * 5],
    )
    assert ((means.abs() > 5) & (spreads < 2 * spec.sigma_min)).double().mean() > 0.2  # far, narrow
    reference_out = far.clone().requires_grad_()
    reference = (moves_loss(spec, net.mixture_params_from(reference_out), y) * weight).sum()
    reference.backward()
    out = far.float().requires_grad_()
    with denormals_flushed():
        loss = MovesNLL.apply(out, y.float(), weight.float(), spec)
        loss.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    expected = reference_out.grad.numpy()
    np.testing.assert_allclose(
        out.grad.numpy(), expected, rtol=1e-3, atol=1e-6 * np.abs(expected).max()
    )


@pytest.mark.parametrize(("floor", "flat"), [(0.0, ()), (1e-3, FLAT)])
def test_validation_scores_the_density_moves_loss_scores(
    floor: float, flat: tuple[tuple[int, int], ...]
) -> None:
    """Validation scores a moves model through the fused loss, its gradient left out
    (``MDRNN.head_nll``): event by event the density of ``moves_loss``."""
    spec = _spec(floor, flat)
    torch.manual_seed(0)
    net = MDRNN(spec)
    performance = _performance(np.random.default_rng(5), 120)
    y = torch.from_numpy(moves.encode_targets(spec, performance))[1:]
    out = net.head(torch.randn(119, 16)).detach()
    expected = moves_loss(spec, net.mixture_params_from(out), y)
    np.testing.assert_allclose(net.head_nll(out, y).numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("events", [0, 1])
def test_the_fused_loss_takes_batches_of_no_event_and_of_one(events: int) -> None:
    """A batch with no event (a validation set with no real event left) scores 0 with an empty
    gradient; one event is an event like any other."""
    from foretell.model.torch_moves import MovesNLL

    spec = _spec(1e-3, FLAT)
    torch.manual_seed(0)
    net = MDRNN(spec)
    performance = _performance(np.random.default_rng(6), 3)
    y = torch.from_numpy(moves.encode_targets(spec, performance))[1 : 1 + events]
    out = net.head(torch.randn(events, 16)).detach().requires_grad_()
    loss = MovesNLL.apply(out, y, torch.ones(events), spec)
    loss.backward()
    expected = moves_loss(spec, net.mixture_params_from(out.detach()), y).sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    assert out.grad is not None and out.grad.shape == out.shape
    assert torch.isfinite(out.grad).all()
    assert net.head_nll(out.detach(), y).shape == (events,)


def test_training_starts_every_component_alike_on_grid_controls() -> None:
    """The components start spread over dt and alike on a grid control (velocity), so none
    starts specialised on that control's ends (on the drum pads such components kept dt's
    beat peaks short of components: dt scored about 1.5 nats per event worse than dense)."""
    from foretell.bench.instruments import pads
    from foretell.model.torch_moves import GRID_START_SCALE
    from foretell.train.config import TrainConfig
    from foretell.train.loop import train

    dataset = pads(np.random.default_rng(0), 600, 4)
    config = TrainConfig(units=16, epochs=1, learning_rate=1e-7, lr_min=1e-8, seed=0)
    model = train(dataset, config).model
    spec = model.spec
    layout = spec.layout
    assert layout is not None and layout.grid_controls == (1,)  # velocity: 7-bit MIDI
    raw = build_model(model).voice().observe(dataset.performances[0][0])
    k, g = layout.mixtures, layout.gaussians
    mu = raw[: k * g].reshape(k, g)
    sigma = raw[k * g : 2 * k * g].reshape(k, g)
    np.testing.assert_allclose(mu[:, 1], 0.0, atol=0.05)  # the grid control: alike
    np.testing.assert_allclose(sigma[:, 1], GRID_START_SCALE, atol=0.05)
    assert np.ptp(mu[:, 0]) > 1.5  # dt: spread over the standard normal's quantiles


@pytest.mark.parametrize("flat", [(), FLAT])
def test_the_written_out_gradient_is_autograds_where_no_grid_control_moves(
    flat: tuple[tuple[int, int], ...],
) -> None:
    """The grid terms are computed only where a grid control moves: a batch where none does
    (the knobs held, only dt and the other controls changing) has no such pair at all."""
    spec = _spec(1e-3, flat)
    torch.manual_seed(0)
    net = MDRNN(spec).double()
    performance = _performance(np.random.default_rng(3), 60)
    performance[:, 1] = performance[0, 1]  # the grid controls never move after the first event
    performance[:, 4] = performance[0, 4]
    y = torch.from_numpy(moves.encode_targets(spec, performance)).double()[None, 1:]
    layout = spec.layout
    assert layout is not None
    assert not y[..., layout.target_columns()["moved"]][..., : len(layout.grid_controls)].any()
    weight = torch.rand(1, 59, dtype=torch.float64)
    out = net.head(torch.randn(1, 59, 16, dtype=torch.float64)).detach().requires_grad_()
    _assert_fused_is_autograd(spec, net, out, y, weight)


@pytest.mark.parametrize("relative", [False, True])
def test_the_training_loss_is_the_networks_likelihood(relative: bool) -> None:
    """``training_nll`` (the fused loss on the head's output) scores what ``forward`` predicts:
    with relative grid centres both add the inputs' grid values the same way."""
    spec = _spec(1e-3, FLAT, relative)
    torch.manual_seed(0)
    net = MDRNN(spec)
    performance = _performance(np.random.default_rng(3), 120)
    x = torch.from_numpy(moves.encode_inputs(spec, performance))[None, :-1]
    y = torch.from_numpy(moves.encode_targets(spec, performance))[None, 1:]
    weight = torch.full((1, 119), 1 / 119)
    with torch.no_grad():
        fused = net.training_nll(x, y, weight).item()
        raw, _ = net(x)
        expected = (net.event_nll(raw, y) * weight).sum().item()
    assert fused == pytest.approx(expected, rel=1e-5)


def _assert_fused_is_autograd(
    spec: MovesSpec, net: MDRNN, out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor
) -> None:
    """``MovesNLL``'s loss and written-out gradient against autograd over ``moves_loss``."""
    from foretell.model.torch_moves import MovesNLL

    reference = (moves_loss(spec, net.mixture_params_from(out), y) * weight).sum()
    reference.backward()
    expected = out.grad.clone()
    out.grad = None
    loss = MovesNLL.apply(out, y, weight, spec)
    loss.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-9)
    np.testing.assert_allclose(out.grad.numpy(), expected.numpy(), atol=1e-7)


def test_a_gate_reads_the_raw_moved_flag_while_training_feeds_it_centred() -> None:
    """Training feeds a flag that is 1 in most events less its mean (``FlagShift``); the gate of
    a relative centre reads the flag as the file's network does, 0 or 1."""
    spec = _spec(1e-3, FLAT, relative=True, gated=True)
    torch.manual_seed(0)
    net = MDRNN(spec)
    performance = _performance(np.random.default_rng(3), 200)
    raw = torch.from_numpy(moves.encode_inputs(spec, performance))[None]  # (1, 200, In)
    loc = torch.tensor([0.6, 0.7, 0.0])  # as if two flags were 1 in most events
    centred = raw.clone()
    centred[..., spec.dimension :] -= loc
    hidden = torch.randn(1, 200, 16)
    expected = net.head_output(hidden, raw)
    assert not torch.allclose(net.head_output(hidden, centred), expected)
    fed_centred = MDRNN(spec, flag_loc=loc)
    fed_centred.load_state_dict(net.state_dict())
    torch.testing.assert_close(fed_centred.head_output(hidden, centred), expected)
