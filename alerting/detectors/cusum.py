"""Page's one-sided upper CUSUM and an EWMA chart on standardized daily counts.

Counts are standardized as ``x_t = (y_t - mu_t) / max(sd_t, min_sigma)`` with the baseline taken
either from a fixed reference period (``reference="fixed"``: days ``ref_start..ref_end-1``, by
default the first ``baseline`` days; monitoring starts after it unless ``ref_end`` says otherwise)
or from a moving window (``reference="moving"``: the ``baseline`` days ending ``guard + 1`` days
before t). ``mu`` and ``sigma`` may also be given outright. A zero sd (constant baseline) with
``min_sigma = 0`` makes any excess over the mean infinitely large and an equal count zero.

* CUSUM: ``S_t = max(0, S_{t-1} + x_t - k)``, alarm when ``S_t > h``; with ``reset=True`` S is set
  to 0 after an alarm. The per-day threshold is the count that would raise one:
  ``mu_t + sd_t * (h + k - S_{t-1})``.
* EWMA: ``Z_t = λ x_t + (1-λ) Z_{t-1}``, ``Z = 0`` at the start (and after an alarm if ``reset``);
  alarm when ``Z_t > L * sqrt(λ/(2-λ) * (1-(1-λ)^(2i)))`` (i = days since start/reset; the
  asymptotic limit if ``exact_variance=False``). Threshold in counts:
  ``mu_t + sd_t * (UCL_t - (1-λ) Z_{t-1}) / λ``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from alerting.detectors.base import (
    DetectionResult,
    DetectorInputError,
    as_matrix,
    check_positive_int,
    make_result,
    rolling_mean_sd,
)

Reference = Literal["fixed", "moving"]
_ROW_LOOP_MAX = 16  # up to this many series the recursion runs as plain float loops


def _baseline(
    values: np.ndarray,
    reference: str,
    baseline: int,
    guard: int,
    ref_start: int | None,
    ref_end: int | None,
    mu: float | Sequence[float] | None,
    sigma: float | Sequence[float] | None,
) -> tuple[np.ndarray, np.ndarray, int, dict[str, Any]]:
    """Per-day baseline mean and sd arrays, the first monitored day, and the baseline parameters."""
    n_series, n_days = values.shape
    params: dict[str, Any] = {"reference": reference}
    if mu is not None or sigma is not None:
        if mu is None or sigma is None:
            raise DetectorInputError("give both mu and sigma, or neither", "detector.bad_param")
        m = np.broadcast_to(np.asarray(mu, dtype=float).reshape(-1, 1), (n_series, 1))
        s = np.broadcast_to(np.asarray(sigma, dtype=float).reshape(-1, 1), (n_series, 1))
        start = 0 if ref_end is None else int(ref_end)
        params.update(reference="given", mu=np.asarray(mu).tolist(), sigma=np.asarray(sigma).tolist())
        return np.repeat(m, n_days, axis=1), np.repeat(s, n_days, axis=1), start, params
    if reference == "fixed":
        lo = 0 if ref_start is None else int(ref_start)
        hi = lo + baseline if ref_end is None else int(ref_end)
        if not 0 <= lo < hi <= n_days or hi - lo < 2:
            raise DetectorInputError(
                f"reference period {lo}..{hi} must hold ≥ 2 of the {n_days} days", "detector.too_short"
            )
        ref = values[:, lo:hi]
        m = ref.mean(axis=1, keepdims=True)
        s = ref.std(axis=1, ddof=1, keepdims=True)
        params.update(ref_start=lo, ref_end=hi, baseline=hi - lo)
        return np.repeat(m, n_days, axis=1), np.repeat(s, n_days, axis=1), hi, params
    if reference == "moving":
        guard = check_positive_int("guard", guard, 0)
        mean, sd = rolling_mean_sd(values, baseline, guard + 1)
        params.update(baseline=baseline, guard=guard)
        return mean, sd, baseline + guard, params
    raise DetectorInputError(f"reference must be 'fixed' or 'moving', got {reference!r}", "detector.bad_param")


def _standardize(values: np.ndarray, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    diff = values - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        x: np.ndarray = diff / sigma
        zero = sigma == 0
        if zero.any():
            x = np.where(zero, np.sign(diff) * np.inf, x)
            x = np.where(zero & (diff == 0), 0.0, x)
    return x


def _page_row(x: list[float], k: float, h: float, reset: bool) -> tuple[list[float], list[bool]]:
    """One series' ``S_t = max(0, S_{t-1} + x_t - k)`` as a plain float loop (a NaN day carries S)."""
    s, stat, fire = 0.0, [0.0] * len(x), [False] * len(x)
    for i, xt in enumerate(x):
        if xt == xt:
            s = s + xt - k
            if s < 0.0:
                s = 0.0
        stat[i] = s
        if s > h:
            fire[i] = True
            if reset:
                s = 0.0
    return stat, fire


def _page_recursion(
    x: np.ndarray, start: int, k: float, h: float, reset: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CUSUM statistic, alarms and the sum each day starts from (after a reset), from day ``start`` on.

    A few series run as float loops (numpy per day costs more than it saves there); many run
    one vectorised step per day over all series.
    """
    n_series, n_days = x.shape
    stat = np.full(x.shape, np.nan)
    alarm = np.zeros(x.shape, dtype=bool)
    if n_series <= _ROW_LOOP_MAX:
        for i in range(n_series):
            st, fi = _page_row(x[i, start:].tolist(), k, h, reset)
            stat[i, start:] = st
            alarm[i, start:] = fi
    else:
        s_prev = np.zeros(n_series)
        with np.errstate(invalid="ignore"):
            for t in range(start, n_days):
                xt = x[:, t]
                s = np.maximum(0.0, s_prev + xt - k)
                s = np.where(np.isnan(xt), s_prev, s)  # a missing day carries the sum forward
                fire = s > h
                alarm[:, t] = fire
                stat[:, t] = s
                s_prev = np.where(fire, 0.0, s) if reset else s
    after = np.where(alarm, 0.0, stat) if reset else stat
    before = np.zeros(x.shape)
    before[:, start + 1:] = after[:, start:-1]
    return stat, alarm, before


def cusum(
    counts: Any,
    *,
    k: float = 0.5,
    h: float = 4.0,
    reference: Reference = "fixed",
    baseline: int = 28,
    guard: int = 0,
    ref_start: int | None = None,
    ref_end: int | None = None,
    mu: float | Sequence[float] | None = None,
    sigma: float | Sequence[float] | None = None,
    min_sigma: float = 0.0,
    reset: bool = True,
    dates: Sequence[Any] | pd.Index | None = None,
) -> DetectionResult:
    """Page's upper CUSUM on standardized counts; one series or a matrix (rows = series)."""
    if k < 0 or h <= 0:
        raise DetectorInputError("k must be ≥ 0 and h > 0", "detector.bad_param")
    if min_sigma < 0:
        raise DetectorInputError("minSigma must be ≥ 0", "detector.bad_param")
    baseline = check_positive_int("baseline", baseline, 2)
    values, index, one_d = as_matrix(counts, dates)
    mean, sd, start, bparams = _baseline(values, reference, baseline, guard, ref_start, ref_end, mu, sigma)
    sig = np.maximum(sd, min_sigma)
    x = _standardize(values, mean, sig)
    n_days = values.shape[1]
    stat, alarm, s_before = _page_recursion(x, start, k, h, reset)
    threshold = np.full(values.shape, np.nan)
    with np.errstate(invalid="ignore"):
        threshold[:, start:] = mean[:, start:] + sig[:, start:] * (h + k - s_before[:, start:])
    evaluated = np.zeros(n_days, dtype=bool)
    evaluated[start:] = True
    params: dict[str, Any] = {"k": float(k), "h": float(h), "minSigma": float(min_sigma), "reset": bool(reset)}
    params.update(bparams)
    extra = {"baseline_mean": mean, "baseline_sd": sd, "z": x, "cusum": stat}
    return make_result("cusum", params, index, values, threshold, evaluated, one_d, extra, alarm=alarm)


Trans = Literal["standard", "rossi"]


def _r_standardize(x: np.ndarray, m: float, trans: str) -> np.ndarray:
    """algo.cusum's standardized counts, with R's order of operations."""
    z: np.ndarray
    if trans == "standard":
        z = (x - m) / np.sqrt(m)
        return z
    if trans == "rossi":
        z = (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
        return z
    raise DetectorInputError(f"trans must be 'standard' or 'rossi', got {trans!r}", "detector.bad_param")


def _r_sums(steps: list[float]) -> list[float]:
    """``C_t = max(0, C_{t-1} + step_t)`` from ``C_0 = 0`` (R's loop, the same float operations)."""
    s, out = 0.0, list[float]()
    append = out.append
    for v in steps:
        s += v
        if s < 0.0:
            s = 0.0
        append(s)
    return out


def _r_bound(m: float, h: float, k: float, c_prev: np.ndarray, trans: str) -> np.ndarray:
    """algo.cusum's upperbound: standard rounded up (ceiling), rossi as is; NaN or < 0 become 0."""
    rm = np.sqrt(m)
    ub: np.ndarray
    if trans == "standard":
        ub = np.ceil(rm * (h + k - c_prev) + m)
    else:
        m32 = np.power(m, 1.5)
        with np.errstate(invalid="ignore"):
            ub = (2 * h * rm + 2 * k * rm - 2 * c_prev * rm + 5 * m
                  - 2 * np.sqrt(4 * (m * m) + 2 * m32 * h + 2 * m32 * k - 2 * m32 * c_prev))
    ub[np.isnan(ub)] = 0.0
    ub[ub < 0] = 0.0
    return ub


def cusum_r(
    counts: Any,
    *,
    m: float,
    k: float = 1.04,
    h: float = 2.26,
    trans: Trans = "standard",
    dates: Sequence[Any] | pd.Index | None = None,
) -> DetectionResult:
    """``surveillance::algo.cusum`` with ``control$m`` given, over every day of the input.

    Fixed expectation ``m``, no reset, alarm when ``S_t ≥ h``; the threshold is R's upperbound
    (rounded up for the standard transformation). Matrix input runs each row.
    """
    if not (np.isfinite(m) and m > 0):
        raise DetectorInputError("m (the expected count) must be > 0", "detector.bad_param")
    if not (np.isfinite(k) and np.isfinite(h)):
        raise DetectorInputError("k and h must be finite numbers", "detector.bad_param")
    values, index, one_d = as_matrix(counts, dates)
    stat = np.empty(values.shape)
    bound = np.empty(values.shape)
    with np.errstate(invalid="ignore"):
        steps = _r_standardize(values, float(m), trans) - k
    for i in range(values.shape[0]):
        stat[i] = _r_sums(steps[i].tolist())
        prev = np.concatenate(([0.0], stat[i, :-1]))
        bound[i] = _r_bound(float(m), float(h), float(k), prev, trans)
    with np.errstate(invalid="ignore"):
        alarm = stat >= h
    evaluated = np.ones(values.shape[1], dtype=bool)
    params: dict[str, Any] = {"k": float(k), "h": float(h), "m": float(m), "trans": trans, "reset": False}
    return make_result("cusum", params, index, values, bound, evaluated, one_d, {"cusum": stat}, alarm=alarm)


def ewma(
    counts: Any,
    *,
    lam: float = 0.3,
    L: float = 3.0,
    reference: Reference = "fixed",
    baseline: int = 28,
    guard: int = 0,
    ref_start: int | None = None,
    ref_end: int | None = None,
    mu: float | Sequence[float] | None = None,
    sigma: float | Sequence[float] | None = None,
    min_sigma: float = 0.0,
    reset: bool = True,
    exact_variance: bool = True,
    dates: Sequence[Any] | pd.Index | None = None,
) -> DetectionResult:
    """EWMA chart on standardized counts; one series or a matrix (rows = series)."""
    if not 0.0 < lam <= 1.0 or L <= 0:
        raise DetectorInputError("lambda must be in (0, 1] and L > 0", "detector.bad_param")
    if min_sigma < 0:
        raise DetectorInputError("minSigma must be ≥ 0", "detector.bad_param")
    baseline = check_positive_int("baseline", baseline, 2)
    values, index, one_d = as_matrix(counts, dates)
    mean, sd, start, bparams = _baseline(values, reference, baseline, guard, ref_start, ref_end, mu, sigma)
    sig = np.maximum(sd, min_sigma)
    x = _standardize(values, mean, sig)
    n_series, n_days = values.shape
    stat = np.full(values.shape, np.nan)
    threshold = np.full(values.shape, np.nan)
    ucl_out = np.full(values.shape, np.nan)
    alarm = np.zeros(values.shape, dtype=bool)
    z_prev = np.zeros(n_series)
    steps = np.zeros(n_series)
    asym = lam / (2.0 - lam)
    for t in range(start, n_days):
        xt = x[:, t]
        steps = steps + 1
        var = asym * (1.0 - (1.0 - lam) ** (2.0 * steps)) if exact_variance else np.full(n_series, asym)
        ucl = L * np.sqrt(var)
        with np.errstate(invalid="ignore"):
            threshold[:, t] = mean[:, t] + sig[:, t] * (ucl - (1.0 - lam) * z_prev) / lam
        z = lam * xt + (1.0 - lam) * z_prev
        z = np.where(np.isnan(xt), z_prev, z)
        fire = z > ucl
        alarm[:, t] = fire
        stat[:, t] = z
        ucl_out[:, t] = ucl
        if reset:
            z_prev = np.where(fire, 0.0, z)
            steps = np.where(fire, 0.0, steps)
        else:
            z_prev = z
    evaluated = np.zeros(n_days, dtype=bool)
    evaluated[start:] = True
    params: dict[str, Any] = {
        "lambda": float(lam),
        "L": float(L),
        "minSigma": float(min_sigma),
        "reset": bool(reset),
        "exact_variance": bool(exact_variance),
    }
    params.update(bparams)
    extra = {"baseline_mean": mean, "baseline_sd": sd, "z": x, "ewma": stat, "ucl": ucl_out}
    return make_result("ewma", params, index, values, threshold, evaluated, one_d, extra, alarm=alarm)
