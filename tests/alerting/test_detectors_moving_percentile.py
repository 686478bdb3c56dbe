"""CIDARS moving percentile against a direct day-by-day computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alerting.detectors import moving_percentile
from alerting.detectors.base import DetectorInputError
from alerting.detectors.moving_percentile import baseline_positions


def _naive(s: pd.Series, day: pd.Timestamp, window: int = 7, years: int = 3, around: int = 2, p: float = 80):
    """Observed 7-day count and the P-th percentile of the 15 historical 7-day counts, by date arithmetic."""
    obs = s.loc[day - pd.Timedelta(days=window - 1) : day].sum()
    base = []
    for y in range(1, years + 1):
        anchor = day - pd.DateOffset(years=y)
        for j in range(-around, around + 1):
            end = anchor + pd.Timedelta(days=7 * j)
            start = end - pd.Timedelta(days=window - 1)
            if start < s.index[0]:
                return obs, None
            base.append(s.loc[start:end].sum())
    return obs, np.percentile(base, p)


@pytest.fixture(scope="module")
def series() -> pd.Series:
    rng = np.random.default_rng(11)
    dates = pd.date_range("2019-01-01", "2023-12-31", freq="D")
    season = 3 + 2 * np.sin(2 * np.pi * dates.day_of_year / 365.25)
    return pd.Series(rng.poisson(season).astype(float), index=dates)


def test_matches_direct_computation(series: pd.Series) -> None:
    res = moving_percentile(series)
    first = series.index.get_loc(pd.Timestamp("2022-01-21"))
    assert not res.evaluated[first - 1] and res.evaluated[first]  # needs 3 years + 2 weeks + 6 days back
    for day in list(pd.date_range("2022-01-21", "2023-12-31", freq="37D")) + [pd.Timestamp("2023-12-31")]:
        i = series.index.get_loc(day)
        obs, thr = _naive(series, day)
        assert res.observed[i] == obs
        assert res.threshold[i] == pytest.approx(thr, rel=1e-12)
        assert res.alarm[i] == (obs > thr and obs >= 1)
    assert res.params["baseline_windows"] == 15 and res.params["percentile"] == 80.0


def test_leap_day_maps_to_28_february() -> None:
    dates = pd.date_range("2020-02-01", "2024-03-05", freq="D")
    y = pd.Series(np.arange(len(dates), dtype=float) % 7, index=dates)
    pos = baseline_positions(dates, 7, 1, 0)
    i = dates.get_loc(pd.Timestamp("2024-02-29"))
    assert dates[pos[i, 0]] == pd.Timestamp("2023-02-28")
    res = moving_percentile(y, years=1, weeks_around=0, percentile=50)
    assert res.threshold[i] == y.loc["2023-02-22":"2023-02-28"].sum()


def test_outbreak_raises_signal_and_min_count(series: pd.Series) -> None:
    y = series.copy()
    y.loc["2023-06-10":"2023-06-16"] += 15
    res = moving_percentile(y)
    assert res.alarm[y.index.get_loc(pd.Timestamp("2023-06-16"))]
    strict = moving_percentile(y, min_count=10_000)
    assert not strict.alarm.any()


def test_matrix_input_and_last_n_days(series: pd.Series) -> None:
    rng = np.random.default_rng(5)
    m = rng.poisson(2.0, size=(4, len(series))).astype(float)
    whole = moving_percentile(m, series.index, percentile=90)
    one = moving_percentile(pd.Series(m[2], index=series.index), percentile=90)
    np.testing.assert_array_equal(whole.threshold[2], one.threshold)
    tail = moving_percentile(m, series.index, percentile=90, last_n_days=3)
    assert tail.evaluated.sum() == 3
    np.testing.assert_array_equal(tail.threshold[:, -3:], whole.threshold[:, -3:])


def test_partial_baseline_allowed_when_asked(series: pd.Series) -> None:
    short = series.loc["2021-06-01":]
    assert not moving_percentile(short).evaluated.any()
    part = moving_percentile(short, min_baseline_windows=5)
    assert part.evaluated.any()
    i = part.evaluated.argmax()
    assert part.extra["baseline_windows_used"][i] >= 5


def test_quantile_methods(series: pd.Series) -> None:
    lo = moving_percentile(series, quantile_method="lower")
    hi = moving_percentile(series, quantile_method="higher")
    ok = lo.evaluated
    assert (lo.threshold[ok] <= hi.threshold[ok]).all()


def test_needs_consecutive_dates() -> None:
    with pytest.raises(DetectorInputError) as err:
        moving_percentile(pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-01", "2024-01-03"])))
    assert err.value.code == "detector.bad_dates"
    with pytest.raises(DetectorInputError):
        moving_percentile(np.ones(10))
    with pytest.raises(DetectorInputError):
        moving_percentile(pd.Series(np.ones(3), index=pd.date_range("2024-01-01", periods=3)), percentile=120)
