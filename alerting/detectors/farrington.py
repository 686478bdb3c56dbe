"""Improved Farrington (Noufaily et al. 2013) for weekly counts, as R surveillance 1.20.3 ``farringtonFlexible``.

For each monitored week t: the reference weeks are the same week 1..b years back (the same
weekday nearest to the date a year earlier), with w weeks either side; with ``no_periods > 1`` the
weeks between windows join the fit as ``no_periods - 1`` seasonal factor levels. The
``past_weeks_not_included`` weeks before t (default w) and t itself are left out. A quasi-Poisson
GLM (log link, optional time trend) is fitted as R's ``glm`` does (see quasipoisson.py); with
``reweight`` the weeks with standardized Anscombe residual above ``weights_threshold`` are
down-weighted and the model refitted. The trend stays only if significant at
``p_threshold_trend``, b ≥ 3 and the prediction is no larger than any count in the fit.
Upper bound: ``delta`` — Farrington's power transformation (``powertrans`` 2/3, 1/2 or none) of
the predicted mean; ``nbPlugin`` — the (1-alpha) quantile of a negative binomial with the
predicted mean and dispersion phi (Poisson if phi ≤ 1); ``muan`` — the same with the mean's
(1-alpha) quantile. No bound (NaN) when the last ``limit54[1]`` weeks hold fewer than
``limit54[0]`` cases; alarm when the score ``(y - pred) / (bound - pred)`` exceeds 1 and y > 0.
R's quirks are kept on purpose (the noufaily score uses the linear predictor; after reweighting
the trend test and the prediction's standard error use a dispersion formed with the prior
weights), since the aim is R's numbers.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from alerting.detectors.base import DetectionResult, DetectorInputError, as_matrix, make_result
from alerting.detectors.quasipoisson import EPS, GlmFit, fit_quasipoisson

FREQ = 52
ThresholdMethod = Literal["delta", "nbPlugin", "muan"]
POWERS = {"none": 1.0, "1/2": 0.5, "2/3": 2.0 / 3.0}


@dataclass(frozen=True)
class FarringtonControl:
    """R's control list (names in snake case; ``params`` gives R's)."""

    b: int = 5
    w: int = 3
    reweight: bool = True
    weights_threshold: float = 2.58
    alpha: float = 0.05
    trend: bool = True
    p_threshold_trend: float = 0.05
    limit54: tuple[int, int] = (5, 4)
    powertrans: str = "2/3"
    no_periods: int = 1
    past_weeks_not_included: int | None = None
    threshold_method: str = "delta"

    @property
    def past_weeks(self) -> int:
        return self.w if self.past_weeks_not_included is None else self.past_weeks_not_included

    def check(self) -> None:
        bad = None
        if self.b < 1 or self.w < 0:
            bad = "b must be ≥ 1 and w ≥ 0"
        elif not 0 < self.alpha < 1:
            bad = "alpha must be in (0, 1)"
        elif not (self.limit54[0] >= 0 and self.limit54[1] > 0):
            bad = "limit54: cases must be ≥ 0 and weeks > 0"
        elif self.powertrans not in POWERS:
            bad = f"powertrans must be one of {', '.join(POWERS)}"
        elif self.threshold_method not in ("delta", "nbPlugin", "muan"):
            bad = "thresholdMethod must be delta, nbPlugin or muan"
        elif self.no_periods < 1 or self.past_weeks < 0:
            bad = "noPeriods must be ≥ 1 and pastWeeksNotIncluded ≥ 0"
        if bad:
            raise DetectorInputError(bad, "detector.bad_param")

    def params(self) -> dict[str, Any]:
        return {
            "b": self.b, "w": self.w, "reweight": self.reweight, "weightsThreshold": self.weights_threshold,
            "alpha": self.alpha, "trend": self.trend, "pThresholdTrend": self.p_threshold_trend,
            "limit54": list(self.limit54), "powertrans": self.powertrans, "noPeriods": self.no_periods,
            "pastWeeksNotIncluded": self.past_weeks, "thresholdMethod": self.threshold_method,
        }


# --- reference weeks and the fitting window --------------------------------------------------

def _years_back(d: date, years: int) -> date:
    """R's ``seq(d, by = "-1 year")``: same month and day; 29 February becomes 1 March."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return date(d.year - years, 3, 1)


def reference_dates(day: date, b: int) -> list[date]:
    """The day and the same weekday nearest to it 1..b years back (R's referencetimepoints)."""
    want = day.isoweekday() % 7
    out = []
    for i in range(b + 1):
        ref = _years_back(day, i)
        a = ref - timedelta(days=(ref.isoweekday() % 7) - want)
        other = a + timedelta(days=-7 if a > ref else 7)
        out.append(other if abs((a - ref).days) > abs((other - ref).days) else a)
    return out


def _r_span(lo: int, hi: int) -> list[int]:
    """R's ``lo:hi`` (1-based, descending when hi < lo)."""
    return list(range(lo, hi + 1)) if hi >= lo else list(range(lo, hi - 1, -1))


def _assign(factors: list[float], idx: list[int], value: float) -> bool:
    """R's ``v[idx] <- value``: index 0 is dropped, negatives are an error (False)."""
    if any(i < 0 for i in idx):
        return False
    for i in idx:
        if i > 0:
            if i > len(factors):
                factors.extend([np.nan] * (i - len(factors)))
            factors[i - 1] = value
    return True


def blocks(now: int, ref_weeks: list[int], n: int, b: int, w: int, p: int) -> list[float] | None:
    """R's ``blocks``: factor level per week (NaN = not in the fit), 1-based positions; None if R stops."""
    factors = [np.nan] * n
    if not _assign(factors, _r_span(now - w, now), p):
        return None
    for i in range(1, b + 1):
        ref = ref_weeks[i]
        if not _assign(factors, _r_span(ref - w, ref + w), p):
            return None
        if p != 1:
            period = ref_weeks[i - 1] - 2 * w - 1 - ref
            if period < p - (2 * w + 1):
                return None
            lengths = [period // (p - 1)] * (p - 1)
            for j in range(period % (p - 1)):
                lengths[j] += 1
            cum = np.cumsum([0, *lengths])
            for j in range(1, p):
                span = _r_span(int(ref + w + 1 + cum[j - 1]), int(ref + w + 1 + cum[j] - 1))
                if not _assign(factors, span, j):
                    return None
    return factors[:n]


@dataclass(frozen=True)
class _Data:
    y: np.ndarray
    wtime: np.ndarray
    groups: np.ndarray
    wtime_now: float


def glm_data(k: int, ordinals: np.ndarray, y: np.ndarray, ctl: FarringtonControl) -> _Data | None:
    """R's ``algo.farrington.data.glm`` for 0-based week ``k``; None where R cannot evaluate it."""
    day = date.fromordinal(int(ordinals[k]))
    refs = {d.toordinal() for d in reference_dates(day, ctl.b)}
    present = np.isin(ordinals, list(refs))
    if int(present.sum()) != len(refs):
        return None
    ref_weeks = [int(i) + 1 for i in np.flatnonzero(present)][::-1]
    factors = blocks(k + 1, ref_weeks, len(y), ctl.b, ctl.w, ctl.no_periods)
    if factors is None:
        return None
    ids = np.array(factors, dtype=float)
    lo = k + 1 - ctl.past_weeks
    if not _assign_nan(ids, _r_span(lo, k + 1)):
        return None
    keep = np.flatnonzero(~np.isnan(ids))
    step = float(ordinals[1] - ordinals[0])
    wtime = (ordinals[keep] - ordinals[keep][0]) / step
    ok = ~np.isnan(y[keep])
    keep = keep[ok]
    return _Data(y[keep], wtime[ok], np.array(factors, dtype=float)[keep],
                 (ordinals[k] - ordinals[keep][0]) / step)


def _assign_nan(ids: np.ndarray, idx: list[int]) -> bool:
    if any(i < 0 for i in idx):
        return False
    for i in idx:
        if 0 < i <= ids.size:
            ids[i - 1] = np.nan
    return True


# --- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Model:
    fit: GlmFit
    phi: float
    se_dispersion: float  # summary.glm(model)$dispersion as R sees it after fitGLM.flexible
    trend: bool
    levels: np.ndarray


def _design(d: _Data, trend: bool, factors: bool) -> tuple[np.ndarray, np.ndarray]:
    cols = [np.ones(d.y.size)]
    if trend:
        cols.append(d.wtime)
    levels = np.unique(d.groups) if factors else np.array([])
    for lev in levels[1:]:
        cols.append((d.groups == lev).astype(float))
    return np.column_stack(cols), levels


def _x_now(d: _Data, model: _Model, p: int) -> np.ndarray:
    row = [1.0]
    if model.trend:
        row.append(d.wtime_now)
    row += [1.0 if lev == p else 0.0 for lev in model.levels[1:]]
    return np.array(row)


def _anscombe(fit: GlmFit, y: np.ndarray, phi: float) -> np.ndarray:
    a = 1.5 * (y ** (2 / 3) * fit.mu ** (-1 / 6) - fit.mu ** 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / np.sqrt(phi * (1 - fit.hat))


def _weights(s: np.ndarray, threshold: float) -> np.ndarray:
    high = s > threshold
    with np.errstate(divide="ignore"):
        inv = np.where(high, s**-2.0, 1.0)
    gamma = s.size / np.sum(inv)
    weights: np.ndarray = np.where(high, gamma * inv, gamma)
    return weights


def _fit_flexible(d: _Data, trend: bool, ctl: FarringtonControl) -> _Model | None:
    """R's ``algo.farrington.fitGLM.flexible``."""
    factors = ctl.no_periods != 1
    x, levels = _design(d, trend, factors)
    fit = fit_quasipoisson(x, d.y)
    if not fit.converged:
        if not trend:
            return None
        trend = False
        x, levels = _design(d, trend, factors)
        fit = fit_quasipoisson(x, d.y)
        if not fit.converged:
            return None
    phi = max(fit.dispersion(), 1.0)
    if not ctl.reweight:
        return _Model(fit, phi, fit.dispersion(), trend, levels)
    omega = _weights(_anscombe(fit, d.y, phi), ctl.weights_threshold)
    fit = fit_quasipoisson(x, d.y, omega)
    phi = max(fit.dispersion(), 1.0)
    # R then overwrites model$weights with omega, and summary.glm reads those afterwards.
    return _Model(fit, phi, fit.dispersion(omega), trend, levels)


def _predict(d: _Data, model: _Model, p: int) -> tuple[float, float]:
    """predict.glm(..., se.fit=TRUE) on the link scale: eta and its standard error."""
    x0 = _x_now(d, model, p)
    eta = float(x0 @ model.fit.coef)
    se = float(np.sqrt(model.fit.unscaled_var(x0) * model.se_dispersion))
    return eta, se


def _final_model(d: _Data, ctl: FarringtonControl) -> _Model | None:
    """R's ``algo.farrington.glm``: fit, then keep the trend only when it passes the three checks."""
    model = _fit_flexible(d, ctl.trend, ctl)
    if model is None or not model.trend:
        return model
    eta, _ = _predict(d, model, ctl.no_periods)
    fit_now = max(np.exp(eta), EPS)
    significant = model.fit.p_value(1, model.se_dispersion) < ctl.p_threshold_trend
    if ctl.b >= 3 and significant and fit_now <= np.max(d.y):
        return model
    return _fit_flexible(d, False, ctl)


# --- thresholds ----------------------------------------------------------------------------------

def _discrete_quantile(cdf: Any, q: float, start: float) -> float:
    """Smallest y ≥ 0 with cdf(y) ≥ q·(1 - 64 eps), R's left-continuity fuzz."""
    target = q * (1 - 64 * EPS)
    y = max(0.0, float(start))
    while y > 0 and cdf(y - 1) >= target:
        y -= 1
    while cdf(y) < target:
        y += 1
    return y


def _upper_delta(mu0: float, se_fit: float, phi: float, power: str, alpha: float) -> float:
    tau = phi + se_fit**2 / mu0
    e = POWERS[power]
    se = {"none": np.sqrt(mu0 * tau), "1/2": np.sqrt(0.25 * tau), "2/3": np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)}[power]
    z = stats.norm.ppf(1 - alpha)
    with np.errstate(invalid="ignore"):
        ends = (mu0**e + np.array([-1.0, 1.0]) * z * se) ** (1 / e)
    ends = ends[~np.isnan(ends)]  # R: sort(..., na.last = FALSE)[2], the larger end that exists
    return float(ends.max()) if ends.size else float("nan")


def _upper_noufaily(eta0: float, se_eta: float, phi: float, method: str, alpha: float) -> float:
    mu_q = np.exp(eta0) if method == "nbPlugin" else np.exp(stats.norm.ppf(1 - alpha, loc=eta0, scale=se_eta))
    if not np.isfinite(mu_q):
        return float("nan")
    if phi > 1:
        size, prob = mu_q / (phi - 1), 1 / phi
        dist = stats.nbinom(size, prob)
    else:
        dist = stats.poisson(mu_q)
    return _discrete_quantile(dist.cdf, 1 - alpha, dist.ppf(1 - alpha))


def _week(k: int, ordinals: np.ndarray, y: np.ndarray, ctl: FarringtonControl) -> tuple[float, bool, float]:
    """Upper bound (NaN = none), alarm and expected count of 0-based week ``k``."""
    d = glm_data(k, ordinals, y, ctl)
    model = None if d is None else _final_model(d, ctl)
    if d is None or model is None:
        return float("nan"), False, float("nan")
    eta, se_link = _predict(d, model, ctl.no_periods)
    if ctl.threshold_method == "delta":
        pred = max(np.exp(eta), EPS)
        upper = _upper_delta(pred, se_link * pred, model.phi, ctl.powertrans, ctl.alpha)
    else:
        pred = eta
        upper = _upper_noufaily(eta, se_link, model.phi, ctl.threshold_method, ctl.alpha)
    cases, weeks = ctl.limit54
    enough = float(np.sum(y[max(0, k - weeks + 1):k + 1])) >= cases
    if not enough or np.isnan(upper):
        return (upper if enough else float("nan")), False, float(np.exp(eta))
    score = (y[k] - pred) / (upper - pred)
    return upper, bool(score > 1 and y[k] != 0), float(np.exp(eta))


def _ordinals(dates: Sequence[Any] | pd.Index) -> np.ndarray:
    idx = pd.DatetimeIndex(pd.to_datetime(list(dates)))
    ords = np.array([d.date().toordinal() for d in idx], dtype=np.int64)
    if ords.size < 2 or np.any(np.diff(ords) != 7):
        raise DetectorInputError("farringtonFlexible needs consecutive weekly dates (7 days apart)",
                                 "detector.bad_dates")
    return ords


def farrington_flexible(
    counts: Any,
    *,
    dates: Sequence[Any] | pd.Index,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    alpha: float = 0.05,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    limit54: tuple[int, int] = (5, 4),
    powertrans: str = "2/3",
    no_periods: int = 1,
    past_weeks_not_included: int | None = None,
    threshold_method: ThresholdMethod = "delta",
    last_n_weeks: int | None = None,
) -> DetectionResult:
    """farringtonFlexible over weekly counts (one series or rows of a matrix); weeks from R's default range.

    ``last_n_weeks`` evaluates only the last n weeks of that range (R's ``range``): each week's fit uses
    its own reference weeks only, so those weeks' results are the same as in a full run.
    """
    ctl = FarringtonControl(b, w, reweight, weights_threshold, alpha, trend, p_threshold_trend,
                            (int(limit54[0]), int(limit54[1])), powertrans, no_periods, past_weeks_not_included,
                            threshold_method)
    ctl.check()
    values, index, one_d = as_matrix(counts, pd.Index(dates))
    ords = _ordinals(index)
    n_series, n = values.shape
    first = FREQ * ctl.b + ctl.w  # R's default range starts at freq·b + w + 1 (1-based)
    if last_n_weeks is not None:
        if last_n_weeks < 1:
            raise DetectorInputError("last_n_weeks must be ≥ 1", "detector.bad_param")
        first = max(first, n - last_n_weeks)
    upper = np.full(values.shape, np.nan)
    alarm = np.zeros(values.shape, dtype=bool)
    expected = np.full(values.shape, np.nan)
    evaluated = np.zeros(n, dtype=bool)
    evaluated[first:] = True
    for i in range(n_series):
        for k in range(first, n):
            upper[i, k], alarm[i, k], expected[i, k] = _week(k, ords, values[i], ctl)
    extra = {"expected": expected}
    return make_result("farrington-flexible", ctl.params(), index, values, upper, evaluated, one_d, extra, alarm=alarm)
