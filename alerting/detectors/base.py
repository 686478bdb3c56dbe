"""Shared input handling and the result type every count-series detector returns."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


class DetectorInputError(ValueError):
    """A detector was given counts or parameters it cannot use."""

    code = "detector.bad_input"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


@dataclass(frozen=True)
class DetectionResult:
    """Per-day output of a detector, with the parameters that produced it.

    ``observed``, ``threshold`` and ``alarm`` have the shape of the input: ``(n_days,)`` for one
    series or ``(n_series, n_days)`` for a matrix. ``threshold`` is NaN on days the model could not
    evaluate (too little history) or where the reference model itself is undefined; ``alarm`` is
    ``observed > threshold`` there and False elsewhere. ``evaluated`` marks the days in the model's
    range. ``extra`` holds model-specific per-day arrays (baseline mean, statistic, ...).
    """

    model: str
    params: dict[str, Any]
    index: pd.Index
    observed: np.ndarray
    threshold: np.ndarray
    alarm: np.ndarray
    evaluated: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per day (single series only): observed, threshold, alarm, evaluated and extras."""
        if self.observed.ndim != 1:
            raise ValueError("to_frame() needs a single series; index the matrix first")
        data: dict[str, Any] = {
            "observed": self.observed,
            "threshold": self.threshold,
            "alarm": self.alarm,
            "evaluated": self.evaluated,
        }
        for key, arr in self.extra.items():
            if np.shape(arr) == self.observed.shape:
                data[key] = arr
        return pd.DataFrame(data, index=self.index)

    def series(self, i: int) -> DetectionResult:
        """The result for row ``i`` of a matrix input."""
        if self.observed.ndim == 1:
            if i != 0:
                raise IndexError(i)
            return self
        return DetectionResult(
            model=self.model,
            params=dict(self.params),
            index=self.index,
            observed=self.observed[i],
            threshold=self.threshold[i],
            alarm=self.alarm[i],
            evaluated=self.evaluated,
            extra={k: (v[i] if np.ndim(v) == 2 else v) for k, v in self.extra.items()},
        )


CountsLike = "pd.Series | pd.DataFrame | np.ndarray | Sequence[float]"


def as_matrix(
    counts: Any, dates: Sequence[Any] | pd.Index | None = None
) -> tuple[np.ndarray, pd.Index, bool]:
    """Counts as a float ``(n_series, n_days)`` matrix, the day index, and whether input was 1-D.

    Accepts a pandas Series (index = days), a DataFrame (index = days, one column per series),
    a 1-D array (one series) or a 2-D array (rows = series, columns = days).
    """
    if isinstance(counts, pd.Series):
        values = counts.to_numpy(dtype=float)[None, :]
        index = counts.index if dates is None else pd.Index(dates)
        one_d = True
    elif isinstance(counts, pd.DataFrame):
        values = counts.to_numpy(dtype=float).T
        index = counts.index if dates is None else pd.Index(dates)
        one_d = False
    else:
        arr = np.asarray(counts, dtype=float)
        if arr.ndim == 1:
            values, one_d = arr[None, :], True
        elif arr.ndim == 2:
            values, one_d = arr, False
        else:
            raise DetectorInputError("counts must be 1-D or 2-D", "detector.bad_shape")
        index = pd.RangeIndex(values.shape[1]) if dates is None else pd.Index(dates)
    if len(index) != values.shape[1]:
        raise DetectorInputError(
            f"{len(index)} dates for {values.shape[1]} days of counts", "detector.bad_dates"
        )
    return np.ascontiguousarray(values), index, one_d


def shape_back(arr: np.ndarray, one_d: bool) -> np.ndarray:
    """Undo :func:`as_matrix`'s promotion of a single series to one row."""
    return arr[0] if one_d and arr.ndim == 2 else arr


def make_result(
    model: str,
    params: dict[str, Any],
    index: pd.Index,
    observed: np.ndarray,
    threshold: np.ndarray,
    evaluated: np.ndarray,
    one_d: bool,
    extra: dict[str, np.ndarray] | None = None,
    alarm: np.ndarray | None = None,
) -> DetectionResult:
    """Assemble a result; alarm defaults to ``observed > threshold`` (False where NaN)."""
    if alarm is None:
        with np.errstate(invalid="ignore"):
            alarm = observed > threshold
    alarm = alarm & evaluated[None, :] if alarm.ndim == 2 else alarm & evaluated
    return DetectionResult(
        model=model,
        params=params,
        index=index,
        observed=shape_back(observed, one_d),
        threshold=shape_back(threshold, one_d),
        alarm=shape_back(alarm, one_d),
        evaluated=evaluated,
        extra={k: shape_back(v, one_d) for k, v in (extra or {}).items()},
    )


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum`` (whole floats accepted) or a DetectorInputError naming ``name``."""
    try:
        fvalue = float(value)
    except (TypeError, ValueError):
        fvalue = float("nan")
    if isinstance(value, bool) or not np.isfinite(fvalue) or fvalue != int(fvalue):
        raise DetectorInputError(f"{name} must be an integer, got {value!r}", "detector.bad_param")
    if fvalue < minimum:
        raise DetectorInputError(f"{name} must be ≥ {minimum}, got {value!r}", "detector.bad_param")
    return int(fvalue)


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing ``window``-day sums along the last axis; NaN for the first ``window-1`` days."""
    out = np.full(values.shape, np.nan)
    if values.shape[-1] < window:
        return out
    out[..., window - 1 :] = np.lib.stride_tricks.sliding_window_view(values, window, axis=-1).sum(axis=-1)
    return out


_CHUNK = 256  # series per block when forming sliding windows


def rolling_mean_sd(values: np.ndarray, baseline: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd (n-1, two-pass as R) of ``values[:, t-lag-baseline+1 .. t-lag]`` per day t.

    ``values`` is ``(n_series, n_days)``; days without a complete window get NaN, and so does any
    window containing a NaN.
    """
    n_series, n_days = values.shape
    mean = np.full(values.shape, np.nan)
    sd = np.full(values.shape, np.nan)
    first = baseline + lag - 1  # earliest t whose window is complete (window ends at t - lag)
    if n_days <= first or baseline < 1:
        return mean, sd
    n_out = n_days - first
    for lo in range(0, n_series, _CHUNK):
        block = values[lo : lo + _CHUNK]
        win = np.lib.stride_tricks.sliding_window_view(block, baseline, axis=-1)[:, :n_out]
        m = win.mean(axis=-1)
        dev = win - m[..., None]
        mean[lo : lo + _CHUNK, first:] = m
        with np.errstate(invalid="ignore", divide="ignore"):
            sd[lo : lo + _CHUNK, first:] = np.sqrt(np.einsum("ijk,ijk->ij", dev, dev) / (baseline - 1))
    return mean, sd
