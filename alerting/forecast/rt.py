"""Time-varying reproduction number by Cori et al. (2013), as ``EpiEstim::estimate_R`` (2.2-4).

Methods ``"non_parametric_si"`` (a given discrete serial-interval distribution ``w_0..w_K`` with
``w_0 = 0``) and ``"parametric_si"`` (``discr_si``'s discretised, one-day-shifted gamma of mean
``mean_si`` and sd ``std_si``). With incidence ``I_t`` (t = 1..T, the first day's cases all counted
as imported, or explicit local/imported series) the total infectiousness is
``Λ_t = Σ_{s=1}^{t-1} w_s I_{t-s}`` and for each window ``[t_start, t_end]`` the posterior of R is
gamma with shape ``a + Σ local I_t`` and scale ``1 / (1/b + Σ Λ_t)``, where the prior has mean
``mean_prior`` and sd ``std_prior`` (a = (mean/std)², b = std²/mean). Windows ending before the SI
mean (``t_end ≤ Σ k w_k``) are undefined (NaN), as in EpiEstim. Times are 1-based as in EpiEstim.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import gamma

Method = Literal["non_parametric_si", "parametric_si"]
QUANTILES: dict[str, float] = {
    "q025": 0.025,
    "q05": 0.05,
    "q25": 0.25,
    "median": 0.5,
    "q75": 0.75,
    "q95": 0.95,
    "q975": 0.975,
}


class RtInputError(ValueError):
    """Incidence, serial interval or windows that ``estimate_r`` cannot use."""

    code = "rt.bad_input"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


@dataclass(frozen=True)
class RtResult:
    """Posterior of R per time window (1-based t_start/t_end), the SI used, and the parameters."""

    t_start: np.ndarray
    t_end: np.ndarray
    shape: np.ndarray
    scale: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    quantiles: dict[str, np.ndarray]
    si_distr: np.ndarray
    si_mean: float
    si_std: float
    incidence: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    dates: pd.Index | None = None

    @property
    def q025(self) -> np.ndarray:
        """2.5% posterior quantile."""
        return self.quantiles["q025"]

    @property
    def median(self) -> np.ndarray:
        """Posterior median."""
        return self.quantiles["median"]

    @property
    def q975(self) -> np.ndarray:
        """97.5% posterior quantile."""
        return self.quantiles["q975"]

    def to_frame(self) -> pd.DataFrame:
        """One row per window: t_start, t_end, mean, std, the seven quantiles (and end date if known)."""
        df = pd.DataFrame({"t_start": self.t_start, "t_end": self.t_end, "mean": self.mean, "std": self.std})
        for key, arr in self.quantiles.items():
            df[key] = arr
        if self.dates is not None:
            df["date_end"] = self.dates[self.t_end - 1]
        return df


def discr_si(k: Sequence[float] | np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Discretised serial interval as EpiEstim's ``discr_si``: gamma (mean mu-1, sd sigma) shifted by one day."""
    k = np.asarray(k, dtype=float)
    if sigma < 0:
        raise RtInputError("sigma must be >= 0", "rt.bad_si")
    if mu <= 1:
        raise RtInputError("mu must be > 1", "rt.bad_si")
    if np.any(k < 0):
        raise RtInputError("all values in k must be >= 0", "rt.bad_si")
    a = ((mu - 1.0) / sigma) ** 2
    b = sigma**2 / (mu - 1.0)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        values: np.ndarray = gamma.cdf(x, shape, scale=b)
        return values

    res = k * cdf(k, a) + (k - 2) * cdf(k - 2, a) - 2 * (k - 1) * cdf(k - 1, a)
    res = res + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    pmf: np.ndarray = np.maximum(0.0, res)
    return pmf


def process_incidence(
    incid: Sequence[float] | np.ndarray | pd.Series, imported: Sequence[float] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Local and imported daily cases as EpiEstim's ``process_I``: day 1's cases are all imported.

    Without ``imported``, ``incid`` is the total; with it, ``incid`` is the local cases.
    """
    total = np.asarray(incid, dtype=float).copy()
    if total.ndim != 1 or total.size < 2:
        raise RtInputError("incidence must be a 1-D series of at least 2 days", "rt.bad_incidence")
    if imported is None:
        local = np.nan_to_num(total, nan=0.0)
        imp = np.zeros_like(local)
    else:
        local = np.nan_to_num(total, nan=0.0)
        imp = np.nan_to_num(np.asarray(imported, dtype=float).copy(), nan=0.0)
        if imp.shape != local.shape:
            raise RtInputError("local and imported series differ in length", "rt.bad_incidence")
    imp[0] = local[0] + imp[0]
    local[0] = 0.0
    if np.any(local < 0) or np.any(imp < 0):
        raise RtInputError("incidence must contain only non-negative values", "rt.bad_incidence")
    return local, imp


def overall_infectivity(total: np.ndarray, si_distr: np.ndarray) -> np.ndarray:
    """Λ_t = Σ_{k=0}^{t-1} w_k I_{t-k} for 0-based t ≥ 1; NaN on the first day (as EpiEstim)."""
    T = total.size
    w = np.zeros(T)
    n = min(T, si_distr.size)
    w[:n] = si_distr[:n]
    lam = np.convolve(total, w)[:T]
    lam[0] = np.nan
    return lam


def default_windows(T: int, window: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """EpiEstim's sliding windows: t_start = 2..T-window+1, t_end = t_start + window - 1 (1-based)."""
    if window < 1:
        raise RtInputError("window must be ≥ 1", "rt.bad_window")
    if T - window + 1 < 2:
        raise RtInputError(f"{T} days are too few for a {window}-day window", "rt.too_short")
    t_start = np.arange(2, T - window + 2)
    return t_start, t_start + window - 1


def estimate_r(  # noqa: C901  (EpiEstim's estimate_R: one method switch, validated as the R package does)
    incid: Sequence[float] | np.ndarray | pd.Series,
    method: Method = "non_parametric_si",
    *,
    si_distr: Sequence[float] | np.ndarray | None = None,
    mean_si: float | None = None,
    std_si: float | None = None,
    t_start: Sequence[int] | np.ndarray | None = None,
    t_end: Sequence[int] | np.ndarray | None = None,
    window: int = 7,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    imported: Sequence[float] | np.ndarray | None = None,
) -> RtResult:
    """Posterior of the instantaneous reproduction number over sliding (or given) windows.

    ``incid`` is the daily total, or the local cases when ``imported`` is given (EpiEstim's
    ``local``/``imported`` columns). A pandas Series keeps its dates in the result.
    """
    dates = incid.index if isinstance(incid, pd.Series) else None
    local, imp = process_incidence(incid, imported)
    total = local + imp
    T = total.size
    if mean_prior <= 0 or std_prior <= 0:
        raise RtInputError("mean_prior and std_prior must be > 0", "rt.bad_prior")
    if t_start is None or t_end is None:
        ts, te = default_windows(T, window)
    else:
        ts = np.asarray(t_start)
        te = np.asarray(t_end)
        if ts.shape != te.shape or ts.ndim != 1:
            raise RtInputError("t_start and t_end must be 1-D and of equal length", "rt.bad_window")
        if np.any(ts % 1 != 0) or np.any(te % 1 != 0):
            raise RtInputError("t_start and t_end must be integers", "rt.bad_window")
        ts, te = ts.astype(int), te.astype(int)
        if np.any(ts > te):
            raise RtInputError("t_start[i] must be <= t_end[i]", "rt.bad_window")
        if np.any((ts < 2) | (ts > T)) or np.any((te < 2) | (te > T)):
            raise RtInputError(f"windows must lie within days 2..{T}", "rt.bad_window")

    if method == "parametric_si":
        if mean_si is None or std_si is None:
            raise RtInputError("parametric_si needs mean_si and std_si", "rt.bad_si")
        if mean_si <= 1:
            raise RtInputError("parametric_si requires mean_si > 1", "rt.bad_si")
        if std_si <= 0:
            raise RtInputError("parametric_si requires std_si > 0", "rt.bad_si")
        w = discr_si(np.arange(T), float(mean_si), float(std_si))
    elif method == "non_parametric_si":
        if si_distr is None:
            raise RtInputError("non_parametric_si needs si_distr", "rt.bad_si")
        w = np.asarray(si_distr, dtype=float).copy()
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)):
            raise RtInputError("si_distr must be a non-empty vector of numbers", "rt.bad_si")
        if w[0] != 0:
            raise RtInputError("si_distr[0] must be 0", "rt.bad_si")
        if np.any(w < 0):
            raise RtInputError("si_distr must be non-negative", "rt.bad_si")
        if abs(w.sum() - 1.0) > 0.01:
            raise RtInputError(f"si_distr must sum to 1 (sums to {w.sum():.6g})", "rt.bad_si")
    else:
        raise RtInputError(f"unknown method {method!r}", "rt.bad_method")
    if w.size < T + 1:
        w = np.concatenate([w, np.zeros(T + 1 - w.size)])
    ks = np.arange(w.size)
    si_mean = float(np.sum(w * ks))
    si_std = float(np.sqrt(np.sum(w * ks**2) - si_mean**2))

    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior
    lam = overall_infectivity(total, w)
    # Window sums via prefix sums (lam[0] is NaN, and t_start ≥ 2 keeps it out).
    c_local = np.concatenate([[0.0], np.cumsum(local)])
    lam0 = lam.copy()
    lam0[0] = 0.0
    c_lam = np.concatenate([[0.0], np.cumsum(lam0)])
    sum_local = c_local[te] - c_local[ts - 1]
    sum_lam = c_lam[te] - c_lam[ts - 1]
    ok = te > si_mean
    shape = np.where(ok, a_prior + sum_local, np.nan)
    with np.errstate(divide="ignore"):
        scale = np.where(ok, 1.0 / (1.0 / b_prior + sum_lam), np.nan)
    mean = shape * scale
    std = np.sqrt(shape) * scale
    quantiles = {key: gamma.ppf(q, shape, scale=scale) for key, q in QUANTILES.items()}
    params: dict[str, Any] = {
        "method": method,
        "mean_prior": float(mean_prior),
        "std_prior": float(std_prior),
        "window": int(te[0] - ts[0] + 1) if ts.size and np.all(te - ts == te[0] - ts[0]) else None,
    }
    if method == "parametric_si" and mean_si is not None and std_si is not None:  # both checked above
        params.update(mean_si=float(mean_si), std_si=float(std_si))
    return RtResult(
        t_start=ts,
        t_end=te,
        shape=shape,
        scale=scale,
        mean=mean,
        std=std,
        quantiles=quantiles,
        si_distr=w,
        si_mean=si_mean,
        si_std=si_std,
        incidence=total,
        params=params,
        dates=dates,
    )
