"""14-day case projections by the renewal equation, with R drawn from the last window's posterior.

Each simulation draws one R from the gamma posterior of the latest Rt window (Cori et al.) and
then, day by day, draws ``I_t ~ Poisson(R · Λ_t)`` with ``Λ_t = Σ_{k≥1} w_k I_{t-k}`` over the
observed history followed by that simulation's own projected cases. The RNG is seeded, so a
projection is reproducible from its stored parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alerting.forecast.rt import RtInputError, RtResult

#: Quantile levels reported for each projected day.
LEVELS: dict[str, float] = {"q025": 0.025, "q25": 0.25, "median": 0.5, "q75": 0.75, "q975": 0.975}


@dataclass(frozen=True)
class Projection:
    """Projected daily cases: simulation matrix ``(n_sims, horizon)``, summaries and parameters."""

    samples: np.ndarray
    r_samples: np.ndarray
    mean: np.ndarray
    quantiles: dict[str, np.ndarray]
    params: dict[str, Any]
    dates: pd.DatetimeIndex | None = None
    history: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def horizon(self) -> int:
        """Number of projected days."""
        return int(self.samples.shape[1])

    def to_frame(self) -> pd.DataFrame:
        """One row per projected day: day (1..horizon), date if known, mean and quantiles."""
        df = pd.DataFrame({"day": np.arange(1, self.horizon + 1), "mean": self.mean})
        for key, arr in self.quantiles.items():
            df[key] = arr
        if self.dates is not None:
            df.insert(1, "date", self.dates)
        return df


def project_cases(
    incidence: Sequence[float] | np.ndarray | pd.Series,
    si_distr: Sequence[float] | np.ndarray,
    *,
    r_shape: float,
    r_scale: float,
    horizon: int = 14,
    n_sims: int = 2000,
    seed: int | None = 0,
) -> Projection:
    """Simulate ``horizon`` days of cases from the history, the SI and a gamma(shape, scale) R."""
    hist = np.nan_to_num(np.asarray(incidence, dtype=float), nan=0.0)
    if hist.ndim != 1 or hist.size < 1 or np.any(hist < 0):
        raise RtInputError("incidence must be a non-empty 1-D series of non-negative counts", "rt.bad_incidence")
    w = np.asarray(si_distr, dtype=float)
    if w.ndim != 1 or w.size < 2 or np.any(w < 0) or not np.isfinite(w).all():
        raise RtInputError("si_distr must be a non-negative vector starting at k = 0", "rt.bad_si")
    if not (np.isfinite(r_shape) and np.isfinite(r_scale)) or r_shape <= 0 or r_scale <= 0:
        raise RtInputError("the R posterior is undefined (shape/scale must be > 0)", "rt.undefined_posterior")
    if horizon < 1 or n_sims < 1:
        raise RtInputError("horizon and n_sims must be ≥ 1", "rt.bad_param")
    T = hist.size
    wk = np.zeros(T + horizon + 1)
    n = min(wk.size, w.size)
    wk[:n] = w[:n]
    wk[0] = 0.0
    # Infectiousness from the observed history on each future day j (t = T + j).
    hist_lambda = np.array([np.dot(wk[T + j - np.arange(T)], hist) for j in range(horizon)])
    rng = np.random.default_rng(seed)
    r = rng.gamma(r_shape, r_scale, size=n_sims)
    sims = np.zeros((n_sims, horizon))
    for j in range(horizon):
        lam = hist_lambda[j] + (sims[:, :j] @ wk[j - np.arange(j)] if j else 0.0)
        sims[:, j] = rng.poisson(r * lam)
    dates = None
    if isinstance(incidence, pd.Series) and isinstance(incidence.index, pd.DatetimeIndex) and T:
        dates = pd.date_range(incidence.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    quantiles = {k: np.quantile(sims, q, axis=0) for k, q in LEVELS.items()}
    params: dict[str, Any] = {
        "model": "renewal_poisson",
        "horizon": int(horizon),
        "n_sims": int(n_sims),
        "seed": seed,
        "r_shape": float(r_shape),
        "r_scale": float(r_scale),
        "r_mean": float(r_shape * r_scale),
        "history_days": int(T),
    }
    return Projection(sims, r, sims.mean(axis=0), quantiles, params, dates, hist)


def project_from_rt(
    rt: RtResult,
    *,
    horizon: int = 14,
    n_sims: int = 2000,
    seed: int | None = 0,
    window: int = -1,
) -> Projection:
    """Project from an :func:`estimate_r` result, sampling R from window ``window`` (default: the last)."""
    shape = float(rt.shape[window])
    scale = float(rt.scale[window])
    history: Sequence[float] | pd.Series = rt.incidence
    if rt.dates is not None:
        history = pd.Series(rt.incidence, index=rt.dates)
    proj = project_cases(history, rt.si_distr, r_shape=shape, r_scale=scale, horizon=horizon, n_sims=n_sims, seed=seed)
    proj.params.update(
        rt_window_t_start=int(rt.t_start[window]),
        rt_window_t_end=int(rt.t_end[window]),
        rt_method=rt.params.get("method"),
    )
    return proj
