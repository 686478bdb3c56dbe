"""Renewal-equation projections and the care burden derived from them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.forecast.burden import (
    BurdenInputError,
    BurdenRatios,
    burden_frame,
    district_burden,
    project_burden,
    stay_survival,
)
from alerting.forecast.projection import project_cases, project_from_rt
from alerting.forecast.rt import RtInputError, estimate_r

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def flu() -> tuple[pd.Series, np.ndarray]:
    df = pd.read_csv(FIX / "epiestim_input_flu2009.csv")
    si = pd.read_csv(FIX / "epiestim_si_flu2009.csv")["p"].to_numpy()
    return pd.Series(df["I"].to_numpy(dtype=float), index=pd.to_datetime(df["dates"])), si


def _deterministic(history: np.ndarray, w: np.ndarray, r: float, horizon: int) -> np.ndarray:
    x = list(history)
    for _ in range(horizon):
        t = len(x)
        x.append(r * sum(w[k] * x[t - k] for k in range(1, min(t, len(w) - 1) + 1)))
    return np.array(x[len(history) :])


def test_mean_follows_the_renewal_equation(flu) -> None:  # type: ignore[no-untyped-def]
    s, si = flu
    r0 = 1.3
    proj = project_cases(s, si, r_shape=1e8, r_scale=r0 / 1e8, horizon=14, n_sims=20_000, seed=5)
    expected = _deterministic(s.to_numpy(), si, r0, 14)
    se = proj.samples.std(axis=0, ddof=1) / np.sqrt(proj.samples.shape[0])
    assert np.all(np.abs(proj.mean - expected) < 4 * se + 1e-9)


def test_projection_from_rt_is_seeded_and_summarised(flu) -> None:  # type: ignore[no-untyped-def]
    s, si = flu
    rt = estimate_r(s, si_distr=si)
    a = project_from_rt(rt, seed=42)
    b = project_from_rt(rt, seed=42)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.samples.shape == (2000, 14) and a.horizon == 14
    assert a.params["r_shape"] == rt.shape[-1] and a.params["rt_window_t_end"] == 32
    assert a.r_samples.mean() == pytest.approx(rt.mean[-1], rel=0.05)
    frame = a.to_frame()
    assert frame["date"].iloc[0] == pd.Timestamp("2009-05-29") and len(frame) == 14
    assert (frame["q025"] <= frame["median"]).all() and (frame["median"] <= frame["q975"]).all()
    other = project_from_rt(rt, seed=43)
    assert not np.array_equal(a.samples, other.samples)


def test_undefined_posterior_is_refused(flu) -> None:  # type: ignore[no-untyped-def]
    s, si = flu
    with pytest.raises(RtInputError) as err:
        project_cases(s, si, r_shape=float("nan"), r_scale=1.0)
    assert err.value.code == "rt.undefined_posterior"
    with pytest.raises(RtInputError):
        project_cases([-1.0, 2.0], si, r_shape=1, r_scale=1)


def test_fixed_stay_beds_by_hand() -> None:
    cases = np.array([[10.0, 20, 30, 40, 50]])
    b = district_burden("Huangpu", cases, BurdenRatios(visits_per_case=1.5, admission_share=0.1, mean_los_days=3))
    beds = b.metrics["beds_occupied"]["mean"]
    np.testing.assert_allclose(beds, [1, 3, 6, 9, 12])
    np.testing.assert_allclose(b.metrics["fever_clinic_visits"]["mean"], cases[0] * 1.5)
    np.testing.assert_allclose(b.metrics["admissions"]["mean"], cases[0] * 0.1)
    with_history = district_burden(
        "Huangpu", cases, BurdenRatios(admission_share=0.1, mean_los_days=3), recent_cases=[100, 100]
    )
    np.testing.assert_allclose(with_history.metrics["beds_occupied"]["mean"], [21, 13, 6, 9, 12])


def test_fractional_and_geometric_stays() -> None:
    assert stay_survival(BurdenRatios(mean_los_days=2.5), 5).tolist() == [1, 1, 0.5, 0, 0]
    geo = BurdenRatios(mean_los_days=4, los_model="geometric")
    assert stay_survival(geo, 400).sum() == pytest.approx(4)
    steady = district_burden("x", np.full((1, 200), 100.0), BurdenRatios(admission_share=0.2, mean_los_days=4, los_model="geometric"))
    assert steady.metrics["beds_occupied"]["mean"][-1] == pytest.approx(0.2 * 100 * 4, rel=1e-6)


def test_per_district_burden_frame(flu) -> None:  # type: ignore[no-untyped-def]
    s, si = flu
    rt = estimate_r(s, si_distr=si)
    proj = project_from_rt(rt, n_sims=500)
    ratios = {"Pudong": BurdenRatios(admission_share=0.05), "Jing'an": BurdenRatios(visits_per_case=2)}
    out = project_burden({"Pudong": proj, "Jing'an": proj, "Minhang": proj}, ratios, recent_cases={"Pudong": s.to_numpy()})
    frame = burden_frame(out)
    assert set(frame["district"]) == {"Pudong", "Jing'an", "Minhang"}
    assert set(frame["metric"]) == {"cases", "fever_clinic_visits", "admissions", "beds_occupied"}
    assert len(frame) == 3 * 4 * 14
    v = frame[(frame.district == "Jing'an") & (frame.metric == "fever_clinic_visits")]["mean"].to_numpy()
    c = frame[(frame.district == "Jing'an") & (frame.metric == "cases")]["mean"].to_numpy()
    np.testing.assert_allclose(v, 2 * c)
    assert (frame["q025"] <= frame["q975"]).all()
    assert frame[frame.district == "Minhang"]["admission_share"].iloc[0] == BurdenRatios().admission_share


@pytest.mark.parametrize(
    "ratios",
    [
        BurdenRatios(visits_per_case=-1),
        BurdenRatios(admission_share=1.5),
        BurdenRatios(mean_los_days=0),
        BurdenRatios(mean_los_days=0.5, los_model="geometric"),
    ],
)
def test_bad_ratios(ratios: BurdenRatios) -> None:
    with pytest.raises(BurdenInputError):
        district_burden("x", np.ones((2, 3)), ratios)
