"""The moves model's likelihood and sampling (NumPy), against brute-force references."""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist

import numpy as np
import pytest

from foretell.model import moves
from foretell.model.basis import dense_cells_log_likelihood
from foretell.model.control_kinds import ControlKind, cell_indices, moved
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.moves_spec import MovesSpec
from foretell.model.transform import DataTransform

GRID = ControlKind("grid", origin=0.0, step=0.25, levels=5)
SET = ControlKind("set", values=(0.0, 0.5, 1.0))


def _spec(
    controls: tuple[ControlKind, ...] = (GRID, SET),
    patterns: tuple[int, ...] = (1, 2, 0),
    floor: float = 1e-3,
    other: bool = True,
    flat: tuple[tuple[int, int], ...] = (),
) -> ModelSpec:
    d = 1 + len(controls)
    transform = DataTransform("log", 0.04, (-3.0,) + (0.5,) * (d - 1), (1.0,) + (0.3,) * (d - 1))
    return MovesSpec(
        d, 1, 4, 2, transform, floor_weight=floor, controls=controls, patterns=patterns,
        other_patterns=other, flat_ranges=flat,
    )  # fmt: skip


FLAT = ((1, 3),)  # GRID's flat part spans its cells 1..3 (0.25, 0.5, 0.75)


def _raw(spec: ModelSpec, seed: int) -> np.ndarray:
    layout = spec.layout
    assert layout is not None
    raw = np.random.default_rng(seed).normal(size=layout.params)
    k, g = layout.mixtures, layout.gaussians
    raw[k * g : 2 * k * g] = np.abs(raw[k * g : 2 * k * g]) + 0.3
    return raw


def _reference_log_p(spec: ModelSpec, raw: np.ndarray, prev: np.ndarray, x: np.ndarray) -> float:
    """The density written out term by term with ``statistics.NormalDist`` (no floor)."""
    layout = spec.layout
    assert layout is not None
    k, g = layout.mixtures, layout.gaussians
    t = spec.transform
    z = t.to_net(x[None])[0].astype(np.float64)
    codes = sum(
        1 << bit
        for bit, c in enumerate(layout.discrete)
        if layout.controls[c].cell_of(x[1 + c]) != layout.controls[c].cell_of(prev[1 + c])
    )
    slot = layout.patterns.index(codes) if codes in layout.patterns else len(layout.patterns)
    if slot == layout.slots:  # not named, and no slot for the others: the floor's alone
        return -math.inf
    joint = raw[layout.joint_start : layout.flat_start]
    joint = np.exp(joint - joint.max())
    joint /= joint.sum()
    total = 0.0
    for m in range(k):
        p = joint[m * layout.slots + slot]
        if slot == len(layout.patterns):
            p /= 2 ** len(layout.discrete) - len(layout.patterns)
        mu, sigma = raw[m * g : (m + 1) * g], raw[k * g + m * g : k * g + (m + 1) * g]
        p *= NormalDist(mu[0], sigma[0]).pdf(z[0])
        start = layout.sets_start
        for j, c in enumerate(layout.gaussian_controls, start=1):
            kind = layout.controls[c]
            if kind.kind == "continuous":
                p *= NormalDist(mu[j], sigma[j]).pdf(z[1 + c])
                continue
            cell, before = kind.cell_of(x[1 + c]), kind.cell_of(prev[1 + c])
            if cell == before:
                continue
            edges = (
                np.concatenate([[-np.inf], kind.inner_edges(), [np.inf]]) - t.loc[1 + c]
            ) / t.scale[1 + c]

            position = layout.grid_controls.index(c)
            share = 0.0
            if layout.flat:  # the component's flat share, even over the cells of its range
                logit = raw[layout.flat_start + m * len(layout.flat) + position]
                share = 1.0 / (1.0 + math.exp(-logit))
            first, last = layout.flat[position] if layout.flat else (0, -1)

            def mass(i: int, m: float = mu[j], s: float = sigma[j], e: np.ndarray = edges,
                     f: float = share, first: int = first, last: int = last) -> float:  # fmt: skip
                def cdf(x: float) -> float:  # the logistic's
                    return 1.0 / (1.0 + math.exp(-(x - m) / s)) if np.isfinite(x) else float(x > 0)

                even = 1.0 / (last - first + 1) if first <= i <= last else 0.0
                return (1.0 - f) * (cdf(e[i + 1]) - cdf(e[i])) + f * even

            p *= mass(cell) / (1.0 - mass(before))
        for c, size in zip(layout.set_controls, layout.set_sizes, strict=True):
            kind = layout.controls[c]
            cell, before = kind.cell_of(x[1 + c]), kind.cell_of(prev[1 + c])
            logits = raw[start + m * size : start + (m + 1) * size]
            start += k * size
            if cell == before:
                continue
            weights = np.exp(logits - logits.max())
            weights[before] = 0.0
            p *= weights[cell] / weights.sum()
        total += p
    jacobian = -math.log(x[0] + t.dt_offset) - math.log(t.scale[0])
    jacobian -= sum(
        math.log(t.scale[1 + c]) for c, kind in enumerate(layout.controls) if not kind.discrete
    )
    return math.log(total) + jacobian


@pytest.mark.parametrize(
    ("controls", "patterns", "flat"),
    [
        ((GRID, SET), (1, 2, 0), ()),
        ((GRID, SET, ControlKind("continuous")), (1, 2, 0, 3), ()),
        ((SET, GRID), (3,), ()),
        ((GRID, SET), (1, 2, 0), FLAT),
        ((SET, GRID, ControlKind("continuous")), (3, 1), FLAT),
    ],
    ids=["grid-set", "with-continuous", "one-named", "flat", "flat-with-continuous"],
)
def test_the_likelihood_matches_a_term_by_term_reference(
    controls: tuple[ControlKind, ...],
    patterns: tuple[int, ...],
    flat: tuple[tuple[int, int], ...],
) -> None:
    spec = _spec(controls, patterns, floor=0.0, flat=flat)
    rng = np.random.default_rng(5)
    for seed in range(6):
        raw = _raw(spec, seed)
        prev = np.concatenate([[0.1], rng.choice([0.0, 0.25, 0.5, 1.0], len(controls))])
        x = np.concatenate(
            [[rng.uniform(0.01, 0.5)], rng.choice([0.0, 0.5, 0.75, 1.0], len(controls))]
        )
        got = moves.performance_log_likelihood(spec, np.stack([raw, raw]), np.stack([prev, x]))
        assert got[0] == pytest.approx(
            _reference_log_p(spec, raw, prev, x), abs=1e-6
        )  # float32 rows


@pytest.mark.parametrize("flat", [(), FLAT])
@pytest.mark.parametrize("prev", [(0.5, 0.5), (0.0, 1.0), (0.99, 0.2)])
def test_the_likelihood_sums_to_one_over_every_next_event(
    prev: tuple[float, float], flat: tuple[tuple[int, int], ...]
) -> None:
    """Over every cell of both controls and dt's whole network axis (the floor included)."""
    spec = _spec(flat=flat)
    raw = _raw(spec, 1)
    before = np.array([0.1, *prev])
    zs = np.linspace(-40.0, 40.0, 20001)
    total = 0.0
    for grid_value in GRID.cell_values():
        for set_value in SET.values:
            target = moves.encode_targets(spec, np.array([before, [1.0, grid_value, set_value]]))
            rows = np.repeat(target[1:], len(zs), axis=0)
            rows[:, 0] = zs
            log_p = moves.log_likelihood(spec, np.repeat(raw[None], len(zs), 0), rows)
            total += np.trapezoid(np.exp(log_p), zs)
    assert total == pytest.approx(1.0, abs=1e-8)


def _runtime(spec: ModelSpec, seed: int) -> moves.MovesVoice:
    weights = {
        n: np.random.default_rng(seed).normal(size=s).astype(np.float32) * 0.3
        for n, s in spec.tensor_shapes().items()
    }
    return moves.MovesModel(ModelFile(spec, weights)).voice(np.random.default_rng(seed))


@pytest.mark.parametrize("flat", [(), FLAT])
def test_samples_follow_the_likelihood_and_land_on_the_grid_and_set(
    flat: tuple[tuple[int, int], ...],
) -> None:
    """Moving sets and cells drawn 20,000 times against the probabilities the density gives."""
    spec = _spec(floor=0.0, flat=flat)
    runtime = _runtime(spec, 2)
    before = np.array([0.1, 0.5, 0.5])
    prediction = runtime.observe(before).copy()
    raw = prediction[: spec.head_params].astype(np.float64)
    draws = [runtime.sample(prediction) for _ in range(20000)]
    outcomes = Counter((float(x[1]), float(x[2])) for x in draws)
    assert set(outcomes) <= {(g, s) for g in GRID.cell_values() for s in SET.values}
    for (grid_value, set_value), count in outcomes.most_common(6):
        zs = np.linspace(-40.0, 40.0, 8001)
        target = moves.encode_targets(spec, np.array([before, [1.0, grid_value, set_value]]))
        rows = np.repeat(target[1:], len(zs), 0)
        rows[:, 0] = zs
        p = np.trapezoid(
            np.exp(moves.log_likelihood(spec, np.repeat(raw[None], len(zs), 0), rows)), zs
        )
        assert count / 20000 == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 20000) + 1e-3)


def test_what_does_not_move_keeps_its_value_exactly_and_what_moves_leaves_its_cell() -> None:
    spec = _spec()
    runtime = _runtime(spec, 3)
    event = np.array([0.1, 0.5, 0.5])
    for _ in range(2000):
        following = runtime.sample(runtime.observe(event))
        flags = moved(cell_indices(np.stack([event, following]), spec.controls))[1]
        for flag, c in zip(flags, (0, 1), strict=True):
            if not flag:
                assert following[1 + c] == event[1 + c]
        event = following


def test_exactly_one_moving_set_gives_exactly_one_mover() -> None:
    """Named moving sets of one control each and no slot for the others: never none, never
    two, whatever the network says."""
    controls = tuple(ControlKind("grid", origin=0.0, step=1 / 127, levels=128) for _ in range(8))
    spec = _spec(controls, tuple(1 << i for i in range(8)), other=False)
    runtime = _runtime(spec, 4)
    event = np.concatenate([[0.1], np.full(8, 64 / 127)])
    counts = []
    for _ in range(3000):
        following = runtime.sample(runtime.observe(event))
        counts.append(int(moved(cell_indices(np.stack([event, following]), controls))[1].sum()))
        event = following
    assert set(counts) == {1}


def test_temperature_zero_picks_the_likeliest_and_still_leaves_the_previous_cell() -> None:
    spec = _spec()
    runtime = _runtime(spec, 6)
    event = np.array([0.1, 0.5, 0.5])
    prediction = runtime.observe(event).copy()
    first = runtime.sample(prediction, pi_temp=0.0, sigma_temp=0.0)
    assert all((runtime.sample(prediction, 0.0, 0.0) == first).all() for _ in range(20))
    assert first[1] in GRID.cell_values() and first[2] in SET.values


def test_a_dense_model_on_cells_integrates_its_density_over_the_cell() -> None:
    transform = DataTransform("log", 0.04, (-3.0, 0.5), (1.0, 0.3))
    spec = ModelSpec(2, 1, 4, 3, transform, floor_weight=1e-3)
    raw = np.random.default_rng(0).normal(size=spec.mixture.params)
    raw[6:12] = np.abs(raw[6:12]) + 0.1
    event = np.array([[0.05, 0.5]])
    got = dense_cells_log_likelihood(spec, raw[None], event, (GRID,))[0]
    from foretell.model.mixture import log_density

    xs = np.linspace(0.375, 0.625, 4001)  # the cell of 0.5 on a 0.25 grid
    events = np.column_stack([np.full(len(xs), 0.05), xs])
    z = transform.to_net(events)
    density = np.exp(log_density(spec.mixture, np.repeat(raw[None], len(xs), 0), z, 1e-3, 4.0))
    density *= np.exp(transform.log_abs_det_jacobian(events))
    expected = math.log(np.trapezoid(density, xs))
    assert got == pytest.approx(expected, abs=1e-6)
