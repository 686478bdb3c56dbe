"""Fixed-threshold models: single-case diseases and per-disease count thresholds over a window.

China's notifiable-disease early-warning system (CIDARS) raises a signal on a single case of the
Class-A diseases, of the Class-B diseases managed as Class A and of a short list of rare or
emerging diseases; for other diseases a district may set a count threshold over a window
(e.g. 3 cases of one disease in 7 days). Both rules fire when the window count *reaches* the
threshold (``observed >= threshold``), which ``params["comparison"]`` records.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

#: Diseases for which one case is a signal: key → Chinese name (configurable by callers).
SINGLE_CASE_DISEASES: dict[str, str] = {
    "plague": "鼠疫",
    "cholera": "霍乱",
    "sars": "传染性非典型肺炎",
    "polio": "脊髓灰质炎",
    "hpai": "人感染高致病性禽流感",
    "h7n9": "人感染H7N9禽流感",
    "pulmonary_anthrax": "肺炭疽",
    "diphtheria": "白喉",
    "filariasis": "丝虫病",
    "unexplained_pneumonia": "不明原因肺炎",
    "ebola": "埃博拉出血热",
    "mers": "中东呼吸综合征",
    "yellow_fever": "黄热病",
}


@dataclass(frozen=True)
class CountRule:
    """A count threshold: signal when ``window``-day cases reach ``min_cases``."""

    min_cases: int
    window: int = 1

    def as_params(self) -> dict[str, Any]:
        """The rule as storable parameters."""
        return {"min_cases": self.min_cases, "window": self.window}


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower().replace(" ", "_").replace("-", "_")


def is_single_case_disease(disease: str, diseases: Mapping[str, str] | None = None) -> bool:
    """Whether ``disease`` (key or Chinese name, case-insensitive) is on the single-case list."""
    table = SINGLE_CASE_DISEASES if diseases is None else diseases
    n = _norm(disease)
    return any(n == _norm(k) or n == _norm(v) for k, v in table.items())


def count_threshold(
    counts: Any,
    min_cases: int,
    window: int = 1,
    *,
    dates: Sequence[Any] | pd.Index | None = None,
    model: str = "count_threshold",
    extra_params: Mapping[str, Any] | None = None,
) -> DetectionResult:
    """Signal on each day whose trailing ``window``-day count reaches ``min_cases``."""
    min_cases = check_positive_int("min_cases", min_cases, 1)
    window = check_positive_int("window", window, 1)
    values, index, one_d = as_matrix(counts, dates)
    observed = rolling_sum(values, window)
    evaluated = np.zeros(values.shape[1], dtype=bool)
    evaluated[window - 1 :] = True
    threshold = np.where(evaluated[None, :], float(min_cases), np.nan) * np.ones_like(values)
    with np.errstate(invalid="ignore"):
        alarm = observed >= threshold
    params: dict[str, Any] = {"min_cases": min_cases, "window": window, "comparison": ">="}
    params.update(extra_params or {})
    return make_result(
        model, params, index, observed, threshold, evaluated, one_d, {"daily": values}, alarm=alarm
    )


def single_case(
    counts: Any,
    *,
    disease: str | None = None,
    dates: Sequence[Any] | pd.Index | None = None,
) -> DetectionResult:
    """Signal on every day with at least one case (the single-case rule)."""
    extra = {"disease": disease} if disease is not None else {}
    return count_threshold(counts, 1, 1, dates=dates, model="single_case", extra_params=extra)


def fixed_threshold(
    counts: Any,
    disease: str,
    *,
    rules: Mapping[str, CountRule] | None = None,
    single_case_diseases: Mapping[str, str] | None = None,
    dates: Sequence[Any] | pd.Index | None = None,
) -> DetectionResult | None:
    """The fixed-threshold model for ``disease``: single-case, its count rule, or None if it has neither."""
    if is_single_case_disease(disease, single_case_diseases):
        return single_case(counts, disease=disease, dates=dates)
    if rules:
        n = _norm(disease)
        for key, rule in rules.items():
            if _norm(key) == n:
                if not isinstance(rule, CountRule):
                    raise DetectorInputError(f"rule for {disease!r} is not a CountRule", "detector.bad_param")
                return count_threshold(
                    counts, rule.min_cases, rule.window, dates=dates, extra_params={"disease": disease}
                )
    return None
