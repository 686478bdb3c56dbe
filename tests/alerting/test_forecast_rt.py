"""Cori et al. Rt against R EpiEstim::estimate_R on Flu2009, Measles1861 and SARS2003."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alerting.forecast.rt import RtInputError, default_windows, discr_si, estimate_r

FIX = Path(__file__).parent / "fixtures"
REF = pd.read_csv(FIX / "epiestim_reference.csv")
SI_USED = pd.read_csv(FIX / "epiestim_si_used.csv")
DATA = {
    "flu": pd.read_csv(FIX / "epiestim_input_flu2009.csv"),
    "measles": pd.read_csv(FIX / "epiestim_input_measles1861.csv"),
    "sars": pd.read_csv(FIX / "epiestim_input_sars2003.csv"),
}
SI = {
    "flu": pd.read_csv(FIX / "epiestim_si_flu2009.csv"),
    "measles": pd.read_csv(FIX / "epiestim_si_measles1861.csv"),
    "sars": pd.read_csv(FIX / "epiestim_si_sars2003.csv"),
}
COLUMNS = ["mean", "std", "q025", "q05", "q25", "median", "q75", "q95", "q975"]


def _estimate(case_id: str, default_windows_: bool = False):  # type: ignore[no-untyped-def]
    ref = REF[REF["case"] == case_id]
    data = case_id.split("_")[0]
    method = ref["method"].iloc[0]
    kwargs: dict = {"mean_prior": float(ref["mean_prior"].iloc[0]), "std_prior": float(ref["std_prior"].iloc[0])}
    if not default_windows_:
        kwargs.update(t_start=ref["t_start"].to_numpy(), t_end=ref["t_end"].to_numpy())
    if method == "parametric_si":
        kwargs.update(mean_si=float(ref["mean_si"].iloc[0]), std_si=float(ref["std_si"].iloc[0]))
    else:
        kwargs["si_distr"] = SI[data]["p"].to_numpy()
    if case_id == "flu_np_imported":
        both = pd.read_csv(FIX / "epiestim_input_flu2009_imported.csv")
        return ref, estimate_r(both["local"].to_numpy(), method, imported=both["imported"].to_numpy(), **kwargs)
    return ref, estimate_r(DATA[data]["I"].to_numpy(), method, **kwargs)


@pytest.mark.parametrize("case_id", list(dict.fromkeys(REF["case"])))
def test_posterior_matches_epiestim(case_id: str) -> None:
    ref, res = _estimate(case_id)
    frame = res.to_frame()
    np.testing.assert_array_equal(frame["t_start"], ref["t_start"])
    np.testing.assert_array_equal(frame["t_end"], ref["t_end"])
    for col in COLUMNS:
        expected = ref[col].to_numpy(float)
        got = frame[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=col)
        ok = ~np.isnan(expected)
        np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-9, err_msg=col)
    used = SI_USED[SI_USED["case"] == case_id]["p"].to_numpy(float)
    np.testing.assert_allclose(res.si_distr[: used.size], used, rtol=1e-9, atol=1e-15)
    assert res.si_distr.size == used.size


@pytest.mark.parametrize("case_id", ["flu_np_weekly", "flu_p_weekly", "measles_p_weekly", "sars_np_weekly"])
def test_default_windows_are_epiestims(case_id: str) -> None:
    ref, res = _estimate(case_id, default_windows_=True)
    np.testing.assert_array_equal(res.t_start, ref["t_start"])
    np.testing.assert_allclose(res.mean, ref["mean"].to_numpy(float), rtol=1e-9)


def test_undefined_windows_before_si_mean() -> None:
    # Measles SI has mean ≈ 14.9 days: weekly windows ending on day ≤ 14 are NA in EpiEstim.
    ref = REF[REF["case"] == "measles_p_weekly"]
    assert ref["mean"].isna().sum() > 0
    _, res = _estimate("measles_p_weekly")
    assert np.isnan(res.mean[res.t_end <= res.si_mean]).all()


def test_discr_si_matches_epiestim() -> None:
    grid = pd.read_csv(FIX / "epiestim_discr_si.csv")
    for (mu, sigma), g in grid.groupby(["mu", "sigma"]):
        np.testing.assert_allclose(discr_si(g["k"].to_numpy(), mu, sigma), g["p"].to_numpy(float), rtol=1e-9, atol=1e-15)


def test_dated_series_and_imported_cases() -> None:
    flu = DATA["flu"]
    s = pd.Series(flu["I"].to_numpy(), index=pd.to_datetime(flu["dates"]))
    res = estimate_r(s, si_distr=SI["flu"]["p"].to_numpy())
    assert res.to_frame()["date_end"].iloc[-1] == pd.Timestamp("2009-05-28")
    # Imported cases add infectiousness but not local cases: R goes down.
    imported = np.zeros(len(s))
    imported[10] = 20
    with_imports = estimate_r(s.to_numpy(), si_distr=SI["flu"]["p"].to_numpy(), imported=imported)
    assert (with_imports.mean[res.t_start > 11] <= res.mean[res.t_start > 11] + 1e-12).all()


def test_default_windows() -> None:
    ts, te = default_windows(20, 7)
    assert ts[0] == 2 and te[-1] == 20 and (te - ts == 6).all()


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"si_distr": [0.1, 0.9]}, "rt.bad_si"),
        ({"si_distr": [0, 0.5, 0.3]}, "rt.bad_si"),
        ({"si_distr": [0, -0.5, 1.5]}, "rt.bad_si"),
        ({"method": "parametric_si", "mean_si": 1.0, "std_si": 1.0}, "rt.bad_si"),
        ({"method": "parametric_si", "mean_si": 3.0}, "rt.bad_si"),
        ({"si_distr": [0, 1], "t_start": [1], "t_end": [5]}, "rt.bad_window"),
        ({"si_distr": [0, 1], "t_start": [5], "t_end": [4]}, "rt.bad_window"),
        ({"si_distr": [0, 1], "mean_prior": 0}, "rt.bad_prior"),
        ({"si_distr": [0, 1], "window": 40}, "rt.too_short"),
        ({"method": "other"}, "rt.bad_method"),
    ],
)
def test_bad_input(kwargs: dict, code: str) -> None:
    with pytest.raises(RtInputError) as err:
        estimate_r(np.arange(20.0), **kwargs)
    assert err.value.code == code
