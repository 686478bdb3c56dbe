"""Expected fever-clinic visits and occupied hospital beds per district from case projections.

Per simulated trajectory of daily cases: visits = cases × ``visits_per_case``; admissions =
cases × ``admission_share``; beds occupied on day t = ``Σ_{j≥0} admissions_{t-j} · S(j)``, where
``S(j)`` is the chance a patient admitted j days ago is still in bed. ``los_model="fixed"`` keeps
everyone for the mean length of stay L (``S(j) = clip(L - j, 0, 1)``), ``"geometric"`` discharges
a share 1/L each day (``S(j) = (1 - 1/L)^j``); both give L bed-days per admission. Recent observed
cases (``recent_cases``, oldest first, ending the day before the projection) feed the beds still
occupied at the start. Results are means and 2.5/50/97.5% quantiles over the simulations.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from alerting.forecast.projection import Projection


class BurdenInputError(ValueError):
    """Ratios or projections that the burden model cannot use."""

    code = "burden.bad_input"


@dataclass(frozen=True)
class BurdenRatios:
    """Care ratios of one district (or the default for all)."""

    visits_per_case: float = 1.0
    admission_share: float = 0.1
    mean_los_days: float = 7.0
    los_model: Literal["fixed", "geometric"] = "fixed"

    def validate(self) -> BurdenRatios:
        """Self, or a BurdenInputError naming the bad ratio."""
        if self.visits_per_case < 0:
            raise BurdenInputError("visits_per_case must be ≥ 0")
        if not 0.0 <= self.admission_share <= 1.0:
            raise BurdenInputError("admission_share must be within 0..1")
        if self.mean_los_days <= 0:
            raise BurdenInputError("mean_los_days must be > 0")
        if self.los_model == "geometric" and self.mean_los_days < 1:
            raise BurdenInputError("a geometric length of stay needs mean_los_days ≥ 1")
        if self.los_model not in ("fixed", "geometric"):
            raise BurdenInputError("los_model must be 'fixed' or 'geometric'")
        return self


def stay_survival(ratios: BurdenRatios, n: int) -> np.ndarray:
    """``S(j)``, j = 0..n-1: probability a patient admitted j days ago still occupies a bed."""
    j = np.arange(n, dtype=float)
    if ratios.los_model == "fixed":
        return np.clip(ratios.mean_los_days - j, 0.0, 1.0)
    return (1.0 - 1.0 / ratios.mean_los_days) ** j


@dataclass(frozen=True)
class DistrictBurden:
    """Projected burden of one district: per metric a dict of mean and quantile arrays (per day)."""

    district: str
    metrics: dict[str, dict[str, np.ndarray]]
    ratios: BurdenRatios
    dates: pd.DatetimeIndex | None

    def to_frame(self) -> pd.DataFrame:
        """Long table: district, day, date (if known), metric, mean, q025, median, q975."""
        rows = []
        for metric, stats in self.metrics.items():
            h = stats["mean"].size
            df = pd.DataFrame({"district": self.district, "day": np.arange(1, h + 1), "metric": metric})
            if self.dates is not None:
                df["date"] = self.dates
            for key, arr in stats.items():
                df[key] = arr
            rows.append(df)
        return pd.concat(rows, ignore_index=True)


def _summary(x: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "mean": x.mean(axis=0),
        "q025": np.quantile(x, 0.025, axis=0),
        "median": np.quantile(x, 0.5, axis=0),
        "q975": np.quantile(x, 0.975, axis=0),
    }


def district_burden(
    district: str,
    cases: Projection | np.ndarray,
    ratios: BurdenRatios | None = None,
    *,
    recent_cases: Sequence[float] | np.ndarray | None = None,
    dates: pd.DatetimeIndex | None = None,
) -> DistrictBurden:
    """Visits, admissions and occupied beds for one district from simulated daily cases."""
    r = (ratios or BurdenRatios()).validate()
    if isinstance(cases, Projection):
        sims = cases.samples
        dates = cases.dates if dates is None else dates
    else:
        sims = np.asarray(cases, dtype=float)
        if sims.ndim == 1:
            sims = sims[None, :]
    if sims.ndim != 2 or sims.shape[1] < 1 or np.any(sims < 0):
        raise BurdenInputError("cases must be (n_sims, horizon) non-negative counts")
    n_sims, horizon = sims.shape
    past = np.zeros(0) if recent_cases is None else np.nan_to_num(np.asarray(recent_cases, dtype=float))
    full = np.concatenate([np.broadcast_to(past, (n_sims, past.size)), sims], axis=1)
    admissions_full = full * r.admission_share
    surv = stay_survival(r, full.shape[1])
    beds = np.zeros((n_sims, horizon))
    for j in range(horizon):
        t = past.size + j
        beds[:, j] = admissions_full[:, : t + 1] @ surv[t::-1][: t + 1]
    metrics = {
        "cases": _summary(sims),
        "fever_clinic_visits": _summary(sims * r.visits_per_case),
        "admissions": _summary(sims * r.admission_share),
        "beds_occupied": _summary(beds),
    }
    return DistrictBurden(district, metrics, r, dates)


def project_burden(
    projections: Mapping[str, Projection | np.ndarray],
    ratios: BurdenRatios | Mapping[str, BurdenRatios] | None = None,
    *,
    recent_cases: Mapping[str, Sequence[float] | np.ndarray] | None = None,
) -> dict[str, DistrictBurden]:
    """Burden per district; ``ratios`` is one set for all or a mapping (missing districts use defaults)."""
    out: dict[str, DistrictBurden] = {}
    for district, proj in projections.items():
        r = ratios.get(district, BurdenRatios()) if isinstance(ratios, Mapping) else ratios or BurdenRatios()
        recent = None if recent_cases is None else recent_cases.get(district)
        out[district] = district_burden(district, proj, r, recent_cases=recent)
    return out


def burden_frame(burdens: Mapping[str, DistrictBurden]) -> pd.DataFrame:
    """All districts' burden in one long table, with each district's ratios as columns."""
    frames = []
    for b in burdens.values():
        df = b.to_frame()
        for key, value in asdict(b.ratios).items():
            df[key] = value
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def ratios_params(r: BurdenRatios) -> dict[str, Any]:
    """Ratios as storable parameters."""
    return asdict(r)
