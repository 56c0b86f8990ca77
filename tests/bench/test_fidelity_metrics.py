"""The fidelity bench's measures, each against a count or an integral done by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from foretell.bench.common_basis import (
    cell_edges,
    common_log_likelihood,
    log_interval,
    log_ndtr,
)
from foretell.bench.fidelity_metrics import (
    Lattice,
    autocorrelation_time,
    count_distribution,
    effective_events,
    ks_columns,
    midi_messages,
    moved,
    moved_counts,
    on_lattice,
    sampling_tv,
    set_histogram,
    share_on_lattice,
    total_variation,
    value_lattice,
)
from foretell.bench.instruments import INSTRUMENTS
from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import log_density
from foretell.model.transform import DataTransform

# -- lattices -------------------------------------------------------------------------------------


def test_lattices_of_the_instruments_are_what_they_were_drawn_on() -> None:
    pads = np.concatenate(INSTRUMENTS["pads"].dataset(0, 0.1).performances)
    pad = value_lattice(pads[:, 1])
    assert pad.kind == "set" and pad.values == pytest.approx([k / 7 for k in range(8)])
    assert value_lattice(pads[:, 2]) == Lattice("grid", steps=127)
    knobs = np.concatenate(INSTRUMENTS["knobs"].dataset(0, 0.1).performances)
    assert {value_lattice(knobs[:, j]) for j in range(1, 5)} == {Lattice("grid", steps=127)}
    sensors = np.concatenate(INSTRUMENTS["sensors"].dataset(0, 0.05).performances)
    assert value_lattice(sensors[:, 1]).kind == "continuous"


def test_a_grid_is_found_from_float32_values_and_missed_by_a_continuous_column() -> None:
    rng = np.random.default_rng(0)
    on_128 = (rng.integers(0, 128, 500) / 128).astype(np.float32)
    assert value_lattice(on_128) == Lattice("grid", steps=128)
    serial = (rng.integers(0, 1024, 3000) / 1023).astype(np.float32)
    assert value_lattice(serial) == Lattice("grid", steps=1023)
    assert value_lattice(rng.uniform(size=500)).kind == "continuous"


def test_on_lattice_counts_grid_and_set_members() -> None:
    grid = Lattice("grid", steps=127)
    values = np.array([0.0, 5 / 127, 5.5 / 127, 1.0, np.float32(64 / 127)])
    assert on_lattice(values, grid).tolist() == [True, True, False, True, True]
    pads = Lattice("set", (0.0, 0.5, 1.0))
    assert on_lattice(np.array([0.5, 0.25, 1.0, 0.999]), pads).tolist() == [
        True,
        False,
        True,
        False,
    ]
    assert on_lattice(values, Lattice("continuous")) is None
    events = np.column_stack([np.ones(4), [0.0, 0.5, 0.3, 1.0], [0.1, 0.2, 0.3, 0.4]])
    share = share_on_lattice(events, [pads, Lattice("continuous")])
    assert share == {"x1": 0.75, "x2": None, "all": 0.75}


# -- moves ----------------------------------------------------------------------------------------


def brute_moves(rows: list[list[float]], previous: list[float] | None) -> list[int]:
    counts, last = [], previous
    for row in rows:
        counts.append(
            len(row) - 1
            if last is None
            else sum(a != b for a, b in zip(row[1:], last[1:], strict=True))
        )
        last = row
    return counts


def test_moved_counts_match_a_row_by_row_count() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        rows = rng.integers(0, 3, (12, 4)).astype(float) / 2
        previous = rng.integers(0, 3, 4).astype(float) / 2
        assert moved_counts([rows], [previous]).tolist() == brute_moves(
            rows.tolist(), previous.tolist()
        )
        assert moved_counts([rows], [None]).tolist() == brute_moves(rows.tolist(), None)
    assert moved(np.array([[0.1, 0.5], [0.2, 0.5]]), np.array([0.0, 0.5])).tolist() == [
        [False],
        [False],
    ]


def test_a_kept_value_handed_back_in_float32_has_not_moved() -> None:
    """A moves model hands back the values it keeps rounded to float32 (its prediction buffer):
    the engine does not send them as moved, and the bench does not count them."""
    grid = np.array([0.0, 64 / 127, 3 / 127])
    kept = grid.astype(np.float32).astype(np.float64)
    assert (kept != grid).any()  # the rounding the runtime's buffer does
    rows = np.array([[0.1, *grid], [0.2, kept[0], kept[1], 5 / 127]])
    assert moved(rows, None).tolist() == [[True, True, True], [False, False, True]]
    assert moved(np.array([[0.1, np.nan, 0.5]]), np.array([0.0, 0.2, 0.5])).tolist() == [
        [True, False]
    ]


def test_count_distribution_and_total_variation() -> None:
    p = count_distribution(np.array([0, 1, 1, 1]), controls=2)
    assert p.tolist() == [0.25, 0.75, 0.0]
    q = count_distribution(np.array([2, 2, 1, 1]), controls=2)
    assert total_variation(p, q) == pytest.approx(0.5)  # brute: 0.5*(0.25 + 0.25 + 0.5)
    assert total_variation(p, p) == 0.0
    assert total_variation([1, 0], [0, 1]) == 1.0


def test_midi_messages_count_changed_seven_bit_values() -> None:
    rows = np.array(
        [
            [0.1, 0.5, 0.5],
            [0.1, 0.5 + 0.001, 0.5],  # the same 7-bit value: nothing sent
            [0.1, 0.6, 0.7],
            [0.1, 0.6, 0.7],
        ]
    )
    assert midi_messages([rows], [np.array([0.1, 0.5, 0.2])]).tolist() == [1, 0, 2, 0]
    assert midi_messages([rows], [None]).tolist() == [2, 0, 2, 0]


def test_set_histogram_counts_each_value_at_its_nearest_pad() -> None:
    pads = Lattice("set", (0.0, 0.5, 1.0))
    histogram = set_histogram(np.array([0.0, 0.1, 0.5, 0.74, 0.76, 1.0]), pads)
    assert histogram.tolist() == pytest.approx([2 / 6, 2 / 6, 2 / 6])


def test_ks_columns_per_column() -> None:
    a = np.column_stack([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 1.0]])
    b = np.column_stack([[0.1, 0.2, 0.3, 0.4], [1.0, 1.0, 1.0, 1.0]])
    assert ks_columns(a, b) == {"dt": 0.0, "x1": 0.5}


# -- the common basis -----------------------------------------------------------------------------


def test_log_ndtr_against_erfc_and_a_numerical_tail() -> None:
    x = np.array([-30.0, -5.0, -1.0, 0.0, 2.0, 8.0])
    expected = [math.log(0.5 * math.erfc(-v / math.sqrt(2))) for v in x]
    assert log_ndtr(x) == pytest.approx(expected, rel=1e-12)
    for v in (-38.0, -60.0):  # the asymptotic branch: integrate the density's tail by hand
        t = np.linspace(v - 3.0, v, 300_001)
        log_pdf = -0.5 * t**2 - 0.5 * math.log(2 * math.pi)
        integral = np.trapezoid(np.exp(log_pdf - log_pdf[-1]), t)
        assert log_ndtr(np.array([v]))[0] == pytest.approx(
            log_pdf[-1] + math.log(integral), abs=1e-6
        )
    assert log_ndtr(np.array([-np.inf, np.inf])).tolist() == [-np.inf, 0.0]


def test_log_interval_is_the_cdf_difference_even_far_out() -> None:
    def phi(v: float) -> float:
        return 0.5 * math.erfc(-v / math.sqrt(2))

    for a, b in [(-1.0, 0.5), (0.2, 0.3), (-3.0, -2.9), (-np.inf, 0.1), (1.0, np.inf)]:
        assert log_interval(np.array(a), np.array(b)) == pytest.approx(
            math.log(phi(b) - phi(a)), rel=1e-10
        )
    far = log_interval(np.array(40.0), np.array(40.01))  # 1 - Phi would round to 0
    t = np.linspace(40.0, 40.01, 10_001)
    brute = np.trapezoid(np.exp(-0.5 * t**2 + 800.0), t)
    assert far == pytest.approx(math.log(brute) - 800.0 - 0.5 * math.log(2 * math.pi), abs=1e-6)


def test_cells_partition_the_line() -> None:
    grid = Lattice("grid", steps=4)
    low, high = cell_edges(np.array([0.0, 0.25, 1.0, 0.26]), grid)
    assert low.tolist() == [-np.inf, 0.125, 0.875, 0.125]
    assert high.tolist() == [0.125, 0.375, np.inf, 0.375]
    pads = Lattice("set", (0.0, 0.4, 1.0))
    low, high = cell_edges(np.array([0.0, 0.4, 1.0]), pads)
    assert low.tolist() == [-np.inf, 0.2, 0.7] and high.tolist() == [0.2, 0.7, np.inf]


def small_model(rng: np.random.Generator) -> tuple[ModelSpec, np.ndarray]:
    """dt and three controls, 2 components, a floor: raw outputs for 3 events."""
    transform = DataTransform("log", 0.04, (-2.0, 0.5, 0.4, 0.6), (0.7, 0.3, 0.25, 0.2))
    spec = ModelSpec(4, 1, 1, 2, transform, floor_weight=0.05, floor_sigma=4.0)
    mu = rng.normal(0, 1, (3, 2 * 4))
    sigma = rng.uniform(0.2, 1.2, (3, 2 * 4))
    logits = rng.normal(0, 1, (3, 2))
    return spec, np.column_stack([mu, sigma, logits])


def data_density(spec: ModelSpec, raw: np.ndarray, events: np.ndarray) -> np.ndarray:
    """The dense model's data-space log density (as ``Runtime.log_likelihood``)."""
    z = spec.transform.to_net(events)
    log_p = log_density(spec.mixture, raw, z, spec.floor_weight, spec.floor_sigma)
    return log_p + spec.transform.log_abs_det_jacobian(events)


def test_common_basis_is_the_density_integrated_over_each_cell() -> None:
    """Brute force: integrate the data-space density over the cells of x1 (grid) and x2 (set)
    on a fine midpoint grid (edge cells over a wide range), x3 and dt stay densities."""
    rng = np.random.default_rng(7)
    spec, raw = small_model(rng)
    grid, pads = Lattice("grid", steps=5), Lattice("set", (0.0, 0.3, 1.0))
    controls = [grid, pads, Lattice("continuous")]
    events = np.array([[0.05, 0.4, 0.3, 0.55], [0.3, 0.0, 1.0, 0.2], [0.01, 1.0, 0.0, 0.9]])
    fast = common_log_likelihood(spec, raw, events, controls)
    for i, event in enumerate(events):
        low1, high1 = (np.clip(e, -8.0, 9.0) for e in cell_edges(event[[1]], grid))
        low2, high2 = (np.clip(e, -8.0, 9.0) for e in cell_edges(event[[2]], pads))
        u = (np.arange(400) + 0.5) / 400
        x1 = low1[0] + (high1[0] - low1[0]) * u
        x2 = low2[0] + (high2[0] - low2[0]) * u
        both = np.array(list(itertools.product(x1, x2)))
        points = np.column_stack([np.full(len(both), event[0]), both, np.full(len(both), event[3])])
        density = np.exp(data_density(spec, np.repeat(raw[[i]], len(both), 0), points))
        area = (high1[0] - low1[0]) * (high2[0] - low2[0]) / len(both)
        assert fast[i] == pytest.approx(math.log(density.sum() * area), abs=2e-4)


def test_cell_probabilities_of_a_control_sum_to_its_marginal() -> None:
    """Summed over every cell of one grid control, the common basis is the density of the other
    columns: the same model with that control left out."""
    rng = np.random.default_rng(3)
    spec, raw = small_model(rng)
    steps = 16
    grid = Lattice("grid", steps=steps)
    controls = [grid, Lattice("continuous"), Lattice("continuous")]
    event = np.array([0.08, 0.0, 0.45, 0.7])
    rows = np.repeat(event[None, :], steps + 1, axis=0)
    rows[:, 1] = np.arange(steps + 1) / steps
    total = np.exp(common_log_likelihood(spec, np.repeat(raw[:1], steps + 1, 0), rows, controls))
    keep = [0, 2, 3]
    k = spec.mixtures
    mu, sigma, logits = spec.mixture.split(raw[:1])
    transform = DataTransform(
        "log",
        0.04,
        tuple(spec.transform.loc[j] for j in keep),
        tuple(spec.transform.scale[j] for j in keep),
    )
    marginal_spec = ModelSpec(3, 1, 1, k, transform, floor_weight=0.05, floor_sigma=4.0)
    marginal_raw = np.concatenate(
        [mu[..., keep].reshape(1, -1), sigma[..., keep].reshape(1, -1), logits], axis=1
    )
    marginal = np.exp(data_density(marginal_spec, marginal_raw, event[None, keep]))
    assert total.sum() == pytest.approx(float(marginal[0]), rel=1e-9)


def test_with_every_control_continuous_the_common_basis_is_the_trace() -> None:
    """No cells: the common basis is the density ``foretell trace`` reports, event by event."""
    from foretell.bench.harness import bench_spec
    from foretell.model.fileformat import ModelFile
    from foretell.model.random import uniform_weights
    from foretell.model.runtime import DenseModel
    from foretell.model.trace import trace_performance

    spec = bench_spec(units=8, dimension=3, layers=1, mixtures=3)
    rng = np.random.default_rng(5)
    voice = DenseModel(ModelFile(spec, uniform_weights(spec, rng))).voice(rng)
    performance = np.column_stack([rng.uniform(0.01, 0.3, 40), rng.uniform(size=(40, 2))])
    raw, nll = trace_performance(voice, performance)
    continuous = [Lattice("continuous")] * 2
    mine = -common_log_likelihood(spec, raw[:-1], performance[1:], continuous)
    assert mine == pytest.approx(nll, rel=1e-5)


def test_the_tv_floor_is_the_tv_of_two_samples_of_one_distribution() -> None:
    """Against the mean TV of pairs of uniform samples drawn here, and the normal approximation
    ``0.5 * sum sqrt(2 p (1 - p) / n) * sqrt(2 / pi)`` for 8 even pads at 744 events each."""
    even = np.full(8, 1 / 8)
    floor = sampling_tv(even, (744, 744))
    rng = np.random.default_rng(1)
    pairs = [
        total_variation(*(np.bincount(rng.integers(0, 8, 744), minlength=8) / 744 for _ in "ab"))
        for _ in range(2000)
    ]
    assert floor == pytest.approx(float(np.mean(pairs)), abs=0.002)
    approximation = 0.5 * 8 * math.sqrt(2 * (1 / 8) * (7 / 8) / 744) * math.sqrt(2 / math.pi)
    assert floor == pytest.approx(approximation, rel=0.05)
    assert sampling_tv(even, (100_000, 100_000)) < 0.01  # vanishes with the sample


def phrases(rng: np.random.Generator, outcomes: int, events: int, length: int) -> np.ndarray:
    """Labels drawn evenly, each held for ``length`` events (playing in phrases)."""
    return np.repeat(rng.integers(0, outcomes, events // length), length)


def test_the_autocorrelation_time_of_phrases_is_their_length() -> None:
    """Values held for L events: rho_k = 1 - k/L, so tau = 1 + 2 sum (1 - k/L) = L."""
    rng = np.random.default_rng(3)
    assert autocorrelation_time([rng.normal(size=50_000)]) == pytest.approx(1.0, abs=0.1)
    held = phrases(rng, 2, 200_000, 10).astype(float)
    assert autocorrelation_time([held]) == pytest.approx(10.0, rel=0.1)
    assert autocorrelation_time([np.ones(100)]) == 1.0
    # a lag never reaches across segments: ten-event segments of one value each are not one phrase
    segments = [np.full(10, float(v)) for v in rng.integers(0, 2, 5000)]
    assert autocorrelation_time(segments) == pytest.approx(10.0, rel=0.1)


def test_the_floor_with_effective_events_is_what_two_phrased_samples_show() -> None:
    """Two samples of 8 even pads played in 20-event phrases differ by far more than
    independent events would; ``effective_events`` makes ``sampling_tv`` say by how much."""
    rng = np.random.default_rng(4)
    size, length = 2000, 20
    pairs = [
        total_variation(
            *(np.bincount(phrases(rng, 8, size, length), minlength=8) / size for _ in "ab")
        )
        for _ in range(400)
    ]
    sample = phrases(rng, 8, size, length)
    effective = effective_events([sample], 8)
    assert effective == pytest.approx(size / length, rel=0.35)
    even = np.full(8, 1 / 8)
    floor = sampling_tv(even, (effective, effective))
    assert floor == pytest.approx(float(np.mean(pairs)), rel=0.2)
    assert sampling_tv(even, (size, size)) < 0.4 * floor  # counted as independent: far too low
