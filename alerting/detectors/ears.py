"""EARS C1, C2 and C3 exactly as R ``surveillance::earsC`` (version 1.20.3) computes them.

For day ``t`` (0-based) and baseline length ``B``:

* C1 — reference values ``y[t-B .. t-1]``; upperbound ``mean + z * max(sd, minSigma)``.
* C2 — the same with a two-day guard band: reference values ``y[t-B-2 .. t-3]``.
* C3 — with ``C2(u) = (y[u] - mean_u) / max(sd_u, minSigma)`` on C2's reference values,
  upperbound ``max(0, y[t] + max(sd_t, minSigma) * (z - e(t-2) - e(t-1)))`` with
  ``e(u) = max(0, C2(u) - 1)``. This is earsC's formula: the current day's own exceedance does not
  enter it, so an alarm fires when the two previous days' exceedances already sum past ``z``.
  ``c3_form="cdc"`` instead gives the textbook CDC C3 (current and two previous exceedances summed,
  upperbound ``mean_t + sd_t * (1 + z - e(t-2) - e(t-1))``).

``z = Φ⁻¹(1 - alpha)``; ``alpha`` defaults as in earsC when the control list omits it: 0.001 for
C1/C2, 0.025 for C3. ``sd`` is the sample standard deviation (n-1). The model range starts at day
``B`` (C1), ``B+2`` (C2) or ``B+4`` (C3); earlier days get a NaN threshold. Missing counts (NaN)
make every window that contains them undefined, as ``mean``/``sd`` without ``na.rm`` do in R.
An alarm is ``observed > upperbound``; where R's comparison is NA (undefined upperbound) it is False.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from alerting.detectors.base import (
    DetectionResult,
    DetectorInputError,
    as_matrix,
    check_positive_int,
    make_result,
    rolling_mean_sd,
)

Method = Literal["C1", "C2", "C3"]
_DEFAULT_ALPHA = {"C1": 0.001, "C2": 0.001, "C3": 0.025}


def ears_c(
    counts: Any,
    method: Method = "C1",
    *,
    alpha: float | None = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    dates: Sequence[Any] | pd.Index | None = None,
    c3_form: Literal["surveillance", "cdc"] = "surveillance",
) -> DetectionResult:
    """EARS C1/C2/C3 upperbounds and alarms for one series or a matrix of series (rows)."""
    method_u = str(method).upper()
    if method_u not in _DEFAULT_ALPHA:
        raise DetectorInputError(f"method must be C1, C2 or C3, got {method!r}", "detector.bad_param")
    baseline = check_positive_int("baseline", baseline, 3)
    if min_sigma < 0 or not np.isfinite(min_sigma):
        raise DetectorInputError("minSigma must be ≥ 0", "detector.bad_param")
    a = _DEFAULT_ALPHA[method_u] if alpha is None else float(alpha)
    if not 0.0 < a < 1.0:
        raise DetectorInputError(f"alpha must be in (0, 1), got {alpha!r}", "detector.bad_param")
    if c3_form not in ("surveillance", "cdc"):
        raise DetectorInputError(f"c3_form must be 'surveillance' or 'cdc', got {c3_form!r}", "detector.bad_param")
    values, index, one_d = as_matrix(counts, dates)
    n_days = values.shape[1]
    z = float(norm.ppf(1.0 - a))
    params: dict[str, Any] = {
        "method": method_u,
        "alpha": a,
        "baseline": baseline,
        "minSigma": float(min_sigma),
        "z_alpha": z,
    }
    if method_u == "C3":
        params["c3_form"] = c3_form
    first = {"C1": baseline, "C2": baseline + 2, "C3": baseline + 4}[method_u]
    evaluated = np.zeros(n_days, dtype=bool)
    evaluated[first:] = True
    threshold = np.full(values.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method_u == "C1":
            mean, sd = rolling_mean_sd(values, baseline, 1)
            sigma = np.maximum(sd, min_sigma)  # R's pmax(sd, minSigma): NA stays NA
            threshold[:, first:] = (mean + z * sigma)[:, first:]
            extra = {"baseline_mean": mean, "baseline_sd": sd}
            alarm = None
        else:
            mean, sd = rolling_mean_sd(values, baseline, 3)
            sigma = np.maximum(sd, min_sigma)
            if method_u == "C2":
                threshold[:, first:] = (mean + z * sigma)[:, first:]
                extra = {"baseline_mean": mean, "baseline_sd": sd}
                alarm = None
            else:
                c2 = (values - mean) / sigma
                exceed = np.maximum(0.0, c2 - 1.0)
                lags = np.full(values.shape, np.nan)
                lags[:, 2:] = exceed[:, :-2] + exceed[:, 1:-1]
                if c3_form == "surveillance":
                    ub = values + sigma * (z - lags)
                    threshold[:, first:] = np.maximum(0.0, ub)[:, first:]
                    alarm = None
                else:
                    ub = mean + sigma * (1.0 + z - lags)
                    threshold[:, first:] = np.maximum(0.0, ub)[:, first:]
                    stat = lags + exceed
                    alarm = np.zeros(values.shape, dtype=bool)
                    alarm[:, first:] = (stat > z)[:, first:]
                extra = {
                    "baseline_mean": mean,
                    "baseline_sd": sd,
                    "c2": c2,
                    "c3": lags + exceed,
                }
    return make_result(
        f"ears_{method_u.lower()}", params, index, values, threshold, evaluated, one_d, extra, alarm
    )


def ears_c1(counts: Any, **kwargs: Any) -> DetectionResult:
    """EARS C1 (no guard band): see :func:`ears_c`."""
    return ears_c(counts, "C1", **kwargs)


def ears_c2(counts: Any, **kwargs: Any) -> DetectionResult:
    """EARS C2 (two-day guard band): see :func:`ears_c`."""
    return ears_c(counts, "C2", **kwargs)


def ears_c3(counts: Any, **kwargs: Any) -> DetectionResult:
    """EARS C3 (C2 exceedances of the two previous days): see :func:`ears_c`."""
    return ears_c(counts, "C3", **kwargs)
