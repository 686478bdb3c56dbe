"""What a model's alarm rests on, one shape for every model: stored as the signal's `evidence` JSON.

Readers (`alerting.explain`, `alerting.event_facts`, `layers.signals`, the evidence panel) read the JSON, so
`Evidence.as_json` keeps the keys every model wrote before: the common ones always, `region_name`, `series`
and `cases` only when a model has them, and the model's own keys (`details`) last.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

Number = int | float


def json_number(x: Any) -> float | None:
    """`x` as a JSON number rounded to 4 places; None for missing, NaN or infinite."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(v) else round(v, 4)


def series_tail(dates: pd.Index, counts: np.ndarray, *, days: int, **arrays: np.ndarray) -> dict[str, Any]:
    """The last `days` days of a series as JSON-ready lists (NaN → null)."""
    sl = slice(max(0, len(dates) - days), len(dates))
    out: dict[str, Any] = {"dates": [d.date().isoformat() for d in pd.DatetimeIndex(dates[sl])],
                           "counts": [json_number(v) for v in counts[sl]]}
    for name, arr in arrays.items():
        out[name] = [json_number(v) for v in np.asarray(arr, dtype=float)[sl]]
    return out


@dataclass(frozen=True)
class Evidence:
    """The evidence of one alarm: model, level, the alarm's day, observed/threshold/baseline and what backs them."""

    model: str
    level: str  # street | district | institution | cluster
    as_of: date  # the run's day
    alarm_day: date
    observed: Number | None
    threshold: Number | None
    baseline: Number | None
    parameters: Mapping[str, Any]
    disease_name: str | None
    region_name: str | None = None  # omitted from the JSON when None
    series: Mapping[str, Any] | None = None  # dates, counts and the detector's arrays; omitted when None
    cases: Sequence[Mapping[str, Any]] | None = None  # the cases behind it; omitted when None
    details: Mapping[str, Any] = field(default_factory=dict)  # the model's own keys, written last

    def as_json(self) -> dict[str, Any]:
        """The stored JSON."""
        out: dict[str, Any] = {
            "model": self.model, "level": self.level, "as_of": self.as_of.isoformat(),
            "alarm_day": self.alarm_day.isoformat(), "observed": self.observed, "threshold": self.threshold,
            "baseline": self.baseline, "parameters": self.parameters, "disease_name": self.disease_name,
        }
        optional = {"region_name": self.region_name, "series": self.series, "cases": self.cases}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out | dict(self.details)
