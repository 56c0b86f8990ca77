import numpy as np
import pytest

from foretell.model.transform import DataTransform


@pytest.fixture
def events() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.lognormal(-4, 1, 300), rng.random((300, 3))])


def test_round_trip_through_the_network_space(events: np.ndarray) -> None:
    transform = DataTransform.fit(events)
    back = transform.from_net(transform.to_net(events))
    np.testing.assert_allclose(back, events, rtol=1e-5, atol=1e-6)


def test_fitted_space_is_standardised(events: np.ndarray) -> None:
    z = DataTransform.fit(events).to_net(events)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)


@pytest.mark.parametrize("kind", ["log", "linear"])
def test_jacobian_matches_finite_differences(events: np.ndarray, kind: str) -> None:
    transform = DataTransform.fit(events) if kind == "log" else DataTransform.scaled(4, 10.0)
    x = events[:20].astype(np.float64)
    numeric = np.zeros(len(x))
    for d in range(4):
        step = np.zeros_like(x)
        step[:, d] = 1e-3 * x[:, d] + 1e-4
        dz = transform.to_net(x + step)[:, d].astype(np.float64) - transform.to_net(x - step)[
            :, d
        ].astype(np.float64)
        numeric += np.log(np.abs(dz / (2 * step[:, d])))
    np.testing.assert_allclose(transform.log_abs_det_jacobian(x), numeric, atol=2e-3)


def test_from_net_always_gives_a_valid_event() -> None:
    transform = DataTransform.scaled(3, 10.0)
    out = transform.from_net(np.array([[-5.0, -3.0, 40.0], [1e6, 0.5, 0.5]]))
    assert out[0, 0] == transform.dt_min
    assert list(out[0, 1:]) == [0.0, 1.0]
    assert out[1, 0] == pytest.approx(1e5)


def test_impsy_scaling_is_linear() -> None:
    transform = DataTransform.scaled(2, 10.0)
    np.testing.assert_allclose(transform.to_net(np.array([0.1, 0.3])), [1.0, 3.0], rtol=1e-6)
    assert transform.log_abs_det_jacobian(np.array([0.1, 0.3])) == pytest.approx(2 * np.log(10))


def test_scalar_inverse_agrees_with_the_vectorised_one(events: np.ndarray) -> None:
    for transform in (DataTransform.fit(events), DataTransform.scaled(4, 10.0)):
        z = np.random.default_rng(5).normal(0, 3, (50, 4))
        scalar = np.array([transform.event_from_net(row.tolist()) for row in z])
        np.testing.assert_allclose(scalar, transform.from_net(z), rtol=1e-12)
