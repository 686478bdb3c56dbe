"""EARS C1/C2/C3 against R surveillance::earsC on its bundled ha.sts and salmonella.agona data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.detectors import ears_c, ears_c1, ears_c2, ears_c3
from alerting.detectors.base import DetectorInputError

FIX = Path(__file__).parent / "fixtures"
CASES = pd.read_csv(FIX / "ears_cases.csv")
REF = pd.read_csv(FIX / "ears_reference.csv")
INPUTS = {name: pd.read_csv(FIX / f"ears_input_{name}.csv") for name in ("ha", "agona")}


def _run(case: pd.Series):  # type: ignore[no-untyped-def]
    df = INPUTS[case.data]
    cols = [c for c in df.columns if c != "index"]
    kwargs = {}
    if not pd.isna(case.alpha):
        kwargs["alpha"] = float(case.alpha)
    if not pd.isna(case.baseline):
        kwargs["baseline"] = int(case.baseline)
    if not pd.isna(case.minSigma):
        kwargs["min_sigma"] = float(case.minSigma)
    return cols, ears_c(df[cols].to_numpy().T, case.method, **kwargs)


@pytest.mark.parametrize("case_id", list(CASES["case"]))
def test_upperbound_and_alarms_match_earsC(case_id: str) -> None:
    case = CASES.set_index("case").loc[case_id]
    case = case.copy()
    cols, res = _run(case)
    ref = REF[REF["case"] == case_id]
    n_checked = 0
    for j, col in enumerate(cols):
        r = ref[ref["column"] == col]
        idx = r["index"].to_numpy() - 1
        # The model range is exactly earsC's control$range.
        assert idx[0] == case.range_start - 1 and idx[-1] == case.range_end - 1
        assert res.evaluated[idx].all() and not res.evaluated[: idx[0]].any()
        ub = res.threshold[j, idx]
        r_ub = r["upperbound"].to_numpy(float)
        # NA in R (undefined: zero sd in C2/C3 with minSigma 0) is NaN here, and only there.
        np.testing.assert_array_equal(np.isnan(ub), np.isnan(r_ub))
        ok = ~np.isnan(r_ub)
        np.testing.assert_allclose(ub[ok], r_ub[ok], rtol=1e-9, atol=1e-12)
        r_alarm = r["alarm"].to_numpy(float)
        defined = ~np.isnan(r_alarm)
        np.testing.assert_array_equal(res.alarm[j, idx][defined], r_alarm[defined] == 1)
        assert not res.alarm[j, idx][~defined].any()
        n_checked += ok.sum()
    assert n_checked > 250


def test_fixture_covers_undefined_bounds_and_alarms() -> None:
    assert REF["upperbound"].isna().sum() > 100
    assert (REF["alarm"] == 1).sum() > 100


def test_default_alpha_follows_earsC() -> None:
    y = np.arange(30) % 5
    assert ears_c1(y).params["alpha"] == 0.001
    assert ears_c2(y).params["alpha"] == 0.001
    assert ears_c3(y).params["alpha"] == 0.025
    assert ears_c3(y, alpha=0.001).params["alpha"] == 0.001
    assert ears_c1(y).params["z_alpha"] == pytest.approx(3.090232306167813)


def test_c1_by_hand() -> None:
    y = np.array([1, 2, 3, 4, 5, 6, 7, 20, 0], dtype=float)
    res = ears_c1(y, alpha=0.05)
    base = y[:7]
    expected = base.mean() + 1.6448536269514722 * base.std(ddof=1)
    assert res.threshold[7] == pytest.approx(expected, rel=1e-12)
    assert res.alarm[7] and not res.alarm[8]
    assert np.isnan(res.threshold[:7]).all()


def test_c2_uses_two_day_guard() -> None:
    y = np.zeros(12)
    y[:7] = [1, 2, 1, 2, 1, 2, 1]
    y[7:9] = 50  # inside the guard band of day 9: must not enter its baseline
    res = ears_c2(y)
    assert res.threshold[9] == pytest.approx(y[:7].mean() + res.params["z_alpha"] * y[:7].std(ddof=1))


def test_series_matrix_and_pandas_inputs_agree() -> None:
    rng = np.random.default_rng(3)
    m = rng.poisson(4, size=(5, 60)).astype(float)
    dates = pd.date_range("2024-01-01", periods=60)
    whole = ears_c3(m)
    for i in range(5):
        single = ears_c3(pd.Series(m[i], index=dates))
        np.testing.assert_array_equal(single.threshold, whole.threshold[i])
        np.testing.assert_array_equal(single.alarm, whole.alarm[i])
        assert single.index.equals(dates)
    frame = ears_c3(pd.Series(m[0], index=dates)).to_frame()
    assert list(frame.columns[:4]) == ["observed", "threshold", "alarm", "evaluated"]
    assert whole.series(2).observed.shape == (60,)


def test_missing_counts_make_windows_undefined() -> None:
    y = np.arange(20, dtype=float)
    y[10] = np.nan
    res = ears_c1(y)
    assert np.isnan(res.threshold[11:18]).all()
    assert np.isfinite(res.threshold[18])


def test_cdc_c3_includes_current_day() -> None:
    y = np.array([2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 30], dtype=float)
    r_form = ears_c3(y, alpha=0.025)
    cdc = ears_c3(y, alpha=0.025, c3_form="cdc")
    # earsC's C3 does not look at today's own exceedance; the CDC form does.
    assert not r_form.alarm[-1]
    assert cdc.alarm[-1]
    assert cdc.observed[-1] > cdc.threshold[-1]
    assert cdc.params["c3_form"] == "cdc"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"method": "C4"}, "detector.bad_param"),
        ({"baseline": 2}, "detector.bad_param"),
        ({"alpha": 0.0}, "detector.bad_param"),
        ({"alpha": 1.5}, "detector.bad_param"),
        ({"min_sigma": -1.0}, "detector.bad_param"),
    ],
)
def test_bad_parameters(kwargs: dict, code: str) -> None:
    with pytest.raises(DetectorInputError) as err:
        ears_c(np.arange(30.0), **kwargs)
    assert err.value.code == code


def test_short_series_is_all_unevaluated() -> None:
    res = ears_c3(np.ones(10))
    assert not res.evaluated.any() and not res.alarm.any()
