"""CIDARS time model: the current 7-day count against the P-th percentile of historical windows.

For day ``D`` the observed value is the case count of the ``window`` days ending on ``D``. The
baseline is the set of ``window``-day counts ending on ``D - y years + 7j days`` for each previous
year ``y = 1..years`` and shift ``j = -weeks_around..weeks_around`` (default 3 years × 5 windows =
15 windows: the same calendar period and the two periods before and after it). A year back is
the same calendar date (29 February → 28 February). The threshold is the ``percentile``-th
percentile of the baseline counts (numpy "linear" = R's type 7 unless ``quantile_method`` says
otherwise); a signal needs ``observed > threshold`` and ``observed >= min_count``.
A day is evaluated only when at least ``min_baseline_windows`` (default: all) baseline windows
are inside the data and free of missing values. Counts must be daily and consecutive.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alerting.detectors.base import (
    DetectionResult,
    DetectorInputError,
    as_matrix,
    check_positive_int,
    make_result,
    rolling_sum,
)

_CHUNK = 512
_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _daily_index(index: pd.Index) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(index.dtype):
        raise DetectorInputError("moving_percentile needs dates (a DatetimeIndex or dates=...)", "detector.bad_dates")
    try:
        dates = pd.DatetimeIndex(index)
    except (TypeError, ValueError) as exc:
        raise DetectorInputError("moving_percentile needs dates", "detector.bad_dates") from exc
    if dates.hasnans:
        raise DetectorInputError("dates must not be missing", "detector.bad_dates")
    days = dates.values.astype("datetime64[D]").astype(np.int64)
    if len(days) > 1 and not (np.diff(days) == 1).all():
        raise DetectorInputError("dates must be consecutive days without gaps", "detector.bad_dates")
    return pd.DatetimeIndex(days.astype("datetime64[D]"))


def baseline_positions(
    dates: pd.DatetimeIndex, window: int, years: int, weeks_around: int
) -> np.ndarray:
    """Day positions where each baseline window ends, ``(n_days, years * (2*weeks_around+1))``; -1 if outside."""
    n = len(dates)
    cols = []
    origin = dates[0] if n else pd.Timestamp(0)
    for y in range(1, years + 1):
        back = dates - pd.DateOffset(years=y)
        base = np.asarray((back - origin).days, dtype=np.int64)
        for j in range(-weeks_around, weeks_around + 1):
            cols.append(base + 7 * j)
    pos = np.stack(cols, axis=1) if cols else np.zeros((n, 0), dtype=np.int64)
    valid = (pos - window + 1 >= 0) & (pos < np.arange(n)[:, None])
    return np.where(valid, pos, -1)


def _quantile_sorted(sorted_vals: np.ndarray, n_valid: np.ndarray, p: float, method: str) -> np.ndarray:
    """Quantile of the first ``n_valid`` entries of each sorted row (NaN-padded at the end)."""
    h = (n_valid - 1) * p
    lo = np.floor(h).astype(np.int64)
    hi = np.ceil(h).astype(np.int64)
    lo_c = np.clip(lo, 0, sorted_vals.shape[-1] - 1)
    hi_c = np.clip(hi, 0, sorted_vals.shape[-1] - 1)
    vlo = np.take_along_axis(sorted_vals, lo_c[..., None], axis=-1)[..., 0]
    vhi = np.take_along_axis(sorted_vals, hi_c[..., None], axis=-1)[..., 0]
    if method == "linear":
        out = vlo + (h - lo) * (vhi - vlo)
    elif method == "lower":
        out = vlo
    elif method == "higher":
        out = vhi
    elif method == "midpoint":
        out = (vlo + vhi) / 2.0
    else:  # nearest, numpy's round-half-to-even on the index
        idx = np.clip(np.around(h).astype(np.int64), 0, sorted_vals.shape[-1] - 1)
        out = np.take_along_axis(sorted_vals, idx[..., None], axis=-1)[..., 0]
    return np.where(n_valid > 0, out, np.nan)


def moving_percentile(
    counts: Any,
    dates: Sequence[Any] | pd.Index | None = None,
    *,
    window: int = 7,
    years: int = 3,
    weeks_around: int = 2,
    percentile: float = 80.0,
    min_count: float = 1,
    min_baseline_windows: int | None = None,
    quantile_method: str = "linear",
    last_n_days: int | None = None,
) -> DetectionResult:
    """CIDARS moving-percentile model for one series or a matrix (rows = series) of daily counts."""
    window = check_positive_int("window", window, 1)
    years = check_positive_int("years", years, 1)
    weeks_around = check_positive_int("weeks_around", weeks_around, 0)
    if not 0.0 <= float(percentile) <= 100.0:
        raise DetectorInputError("percentile must be within 0..100", "detector.bad_param")
    if quantile_method not in _METHODS:
        raise DetectorInputError(f"quantile_method must be one of {_METHODS}", "detector.bad_param")
    n_windows = years * (2 * weeks_around + 1)
    need = n_windows if min_baseline_windows is None else check_positive_int(
        "min_baseline_windows", min_baseline_windows, 1
    )
    if need > n_windows:
        raise DetectorInputError(
            f"min_baseline_windows {need} exceeds the {n_windows} baseline windows", "detector.bad_param"
        )
    values, index, one_d = as_matrix(counts, dates)
    day_index = _daily_index(index)
    n_days = values.shape[1]
    observed = rolling_sum(values, window)
    pos = baseline_positions(day_index, window, years, weeks_around)
    eval_rows = np.arange(n_days)
    if last_n_days is not None:
        eval_rows = eval_rows[max(0, n_days - check_positive_int("last_n_days", last_n_days, 1)) :]
    eval_rows = eval_rows[(pos[eval_rows] >= 0).sum(axis=1) >= need]
    eval_rows = eval_rows[eval_rows >= window - 1]
    p = float(percentile) / 100.0
    threshold = np.full(values.shape, np.nan)
    n_base = np.zeros(values.shape, dtype=np.int64)
    if eval_rows.size:
        pr = pos[eval_rows]  # (n_eval, n_windows)
        safe = np.where(pr >= 0, pr, 0)
        for lo in range(0, values.shape[0], _CHUNK):
            obs_blk = observed[lo : lo + _CHUNK]
            base = obs_blk[:, safe]  # (chunk, n_eval, n_windows)
            base[:, pr < 0] = np.nan
            nv = (~np.isnan(base)).sum(axis=-1)
            base.sort(axis=-1)  # NaN last
            q = _quantile_sorted(base, nv, p, quantile_method)
            q[nv < need] = np.nan
            threshold[lo : lo + _CHUNK, eval_rows] = q
            n_base[lo : lo + _CHUNK, eval_rows] = nv
    evaluated = np.zeros(n_days, dtype=bool)
    evaluated[eval_rows] = True
    with np.errstate(invalid="ignore"):
        alarm = (observed > threshold) & (observed >= min_count)
    params: dict[str, Any] = {
        "window": window,
        "years": years,
        "weeks_around": weeks_around,
        "baseline_windows": n_windows,
        "percentile": float(percentile),
        "min_count": min_count,
        "min_baseline_windows": need,
        "quantile_method": quantile_method,
    }
    extra = {"daily": values, "baseline_windows_used": n_base}
    return make_result(
        "moving_percentile", params, index, observed, threshold, evaluated, one_d, extra, alarm=alarm
    )
