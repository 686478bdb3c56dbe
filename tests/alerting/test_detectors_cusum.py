"""CUSUM and EWMA against a plain scalar implementation of their textbook recursions."""
from __future__ import annotations

import numpy as np
import pytest

from alerting.detectors import cusum, ewma
from alerting.detectors.base import DetectorInputError


def _cusum_loop(y, mu, sd, k, h, start, reset=True):  # type: ignore[no-untyped-def]
    s, out_s, out_a = 0.0, [], []
    for t in range(start, len(y)):
        s = max(0.0, s + (y[t] - mu) / sd - k)
        fire = s > h
        out_s.append(s)
        out_a.append(fire)
        if fire and reset:
            s = 0.0
    return np.array(out_s), np.array(out_a)


def _ewma_loop(y, mu, sd, lam, L, start, reset=True):  # type: ignore[no-untyped-def]
    z, i, out_z, out_a = 0.0, 0, [], []
    for t in range(start, len(y)):
        i += 1
        z = lam * (y[t] - mu) / sd + (1 - lam) * z
        ucl = L * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))
        fire = z > ucl
        out_z.append(z)
        out_a.append(fire)
        if fire and reset:
            z, i = 0.0, 0
    return np.array(out_z), np.array(out_a)


@pytest.fixture(scope="module")
def y() -> np.ndarray:
    rng = np.random.default_rng(7)
    y = rng.poisson(5, 200).astype(float)
    y[120:130] += 8
    return y


@pytest.mark.parametrize("reset", [True, False])
def test_cusum_fixed_reference_matches_loop(y: np.ndarray, reset: bool) -> None:
    res = cusum(y, k=0.5, h=4, baseline=28, reset=reset)
    mu, sd = y[:28].mean(), y[:28].std(ddof=1)
    s, a = _cusum_loop(y, mu, sd, 0.5, 4, 28, reset)
    np.testing.assert_allclose(res.extra["cusum"][28:], s, rtol=1e-12)
    np.testing.assert_array_equal(res.alarm[28:], a)
    assert not res.evaluated[:28].any() and res.alarm[120:130].any()
    assert res.params["reference"] == "fixed" and res.params["ref_end"] == 28


def test_cusum_threshold_is_the_alarm_boundary(y: np.ndarray) -> None:
    res = cusum(y, k=1.0, h=2.0, baseline=28)
    ok = res.evaluated
    np.testing.assert_array_equal(res.alarm[ok], (res.observed > res.threshold)[ok])


def test_cusum_moving_reference(y: np.ndarray) -> None:
    res = cusum(y, reference="moving", baseline=14, guard=2, h=3)
    t = 50
    ref = y[t - 16 : t - 2]
    assert res.extra["baseline_mean"][t] == pytest.approx(ref.mean())
    assert res.extra["baseline_sd"][t] == pytest.approx(ref.std(ddof=1))
    assert res.evaluated.argmax() == 16


def test_cusum_given_mu_sigma_and_zero_sd() -> None:
    y = np.array([2.0, 2, 2, 2, 3, 2])
    res = cusum(y, mu=2.0, sigma=0.0, h=1.0)
    assert res.alarm.tolist() == [False, False, False, False, True, False]
    flat = cusum(y, baseline=4, min_sigma=0.5, h=1.0)
    assert flat.extra["cusum"][4] == pytest.approx(2 - 0.5)


def test_cusum_matrix(y: np.ndarray) -> None:
    m = np.vstack([y, y[::-1]])
    res = cusum(m)
    np.testing.assert_array_equal(res.alarm[1], cusum(y[::-1]).alarm)


@pytest.mark.parametrize("reset", [True, False])
def test_ewma_matches_loop(y: np.ndarray, reset: bool) -> None:
    res = ewma(y, lam=0.3, L=2.8, baseline=28, reset=reset)
    mu, sd = y[:28].mean(), y[:28].std(ddof=1)
    z, a = _ewma_loop(y, mu, sd, 0.3, 2.8, 28, reset)
    np.testing.assert_allclose(res.extra["ewma"][28:], z, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(res.alarm[28:], a)
    ok = res.evaluated
    np.testing.assert_array_equal(res.alarm[ok], (res.observed > res.threshold)[ok])
    assert res.alarm[120:132].any()


def test_ewma_asymptotic_limit(y: np.ndarray) -> None:
    res = ewma(y, lam=0.2, L=3, exact_variance=False)
    assert res.extra["ucl"][40] == pytest.approx(3 * np.sqrt(0.2 / 1.8))


@pytest.mark.parametrize(
    "func, kwargs",
    [
        (cusum, {"h": 0}),
        (cusum, {"k": -1}),
        (cusum, {"reference": "bogus"}),
        (cusum, {"mu": 1.0}),
        (cusum, {"baseline": 500}),
        (ewma, {"lam": 0}),
        (ewma, {"L": -1}),
    ],
)
def test_bad_parameters(func, kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DetectorInputError):
        func(np.arange(60.0), **kwargs)
