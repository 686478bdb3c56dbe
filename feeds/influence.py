"""影响因素分析: how weather and school absenteeism relate to a disease's daily case series.

A log-linear count regression (Poisson, or negative binomial when the counts are over-dispersed):
`log E[cases_t] = b0 + Σ_k b_k · x_k(t - lag_k) + day-of-week + yearly harmonics`, where each covariate
enters as its mean over the `window` days ending `lag_k` days before t. Coefficients come with 95%
confidence intervals and rate ratios per unit; the fit with deviance explained, AIC and dispersion.
`adjust_projection` turns the fitted effects into a multiplicative factor on a 14-day renewal projection.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sqlalchemy import text
from sqlalchemy.orm import Session

from alerting.forecast.projection import LEVELS, Projection

DEFAULT_LAGS = {"temp_mean": 7, "humidity": 7, "rainfall_mm": 7, "absent_ill_per_1000": 2}
COVARIATE_ZH = {"temp_mean": "日均气温（℃）", "humidity": "相对湿度（%）", "rainfall_mm": "降水量（mm）",
                "absent_ill_per_1000": "因病缺课率（‰）"}
Family = Literal["auto", "poisson", "negbin"]


class InfluenceError(ValueError):
    """The data cannot support the model (too short, no cases, a constant covariate …)."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message_zh = code, message_zh


@dataclass(frozen=True)
class Coefficient:
    name: str
    lag: int
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def rate_ratio(self) -> float:
        """Multiplicative change in expected cases per unit of the covariate."""
        return float(np.exp(self.estimate))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "name_zh": COVARIATE_ZH.get(self.name, self.name), "lag_days": self.lag,
                "estimate": self.estimate, "std_error": self.std_error, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "rate_ratio": self.rate_ratio, "rr_ci_low": float(np.exp(self.ci_low)),
                "rr_ci_high": float(np.exp(self.ci_high))}


@dataclass(frozen=True)
class InfluenceResult:
    """Fitted covariate effects and the quality of the fit."""

    family: str
    coefficients: list[Coefficient]
    intercept: float
    n_days: int
    deviance_explained: float
    aic: float
    dispersion: float
    alpha: float | None  # negative-binomial over-dispersion
    params: dict[str, Any] = field(default_factory=dict)
    last_values: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def coefficient(self, name: str) -> Coefficient:
        return next(c for c in self.coefficients if c.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "coefficients": [c.as_dict() for c in self.coefficients],
                "intercept": self.intercept, "n_days": self.n_days,
                "fit": {"deviance_explained": self.deviance_explained, "aic": self.aic, "dispersion": self.dispersion,
                        "alpha": self.alpha},
                "params": self.params}


def lagged(frame: pd.DataFrame, lags: dict[str, int], window: int) -> pd.DataFrame:
    """Each covariate as the mean of the `window` days ending `lag` days before each day."""
    return pd.DataFrame({name: frame[name].rolling(window, min_periods=window).mean().shift(lag)
                         for name, lag in lags.items()}, index=frame.index)


def _design(frame: pd.DataFrame, lags: dict[str, int], window: int, seasonal: bool, weekday: bool) -> pd.DataFrame:
    x = lagged(frame, lags, window)
    idx = pd.DatetimeIndex(frame.index)
    if seasonal:
        t = 2 * np.pi * idx.day_of_year.to_numpy() / 365.25
        for k in (1, 2):
            x[f"sin{k}"], x[f"cos{k}"] = np.sin(k * t), np.cos(k * t)
    if weekday:
        for d in range(1, 7):
            x[f"dow{d}"] = (idx.day_of_week == d).astype(float)
    return sm.add_constant(x, has_constant="add")


def fit_influence(frame: pd.DataFrame, *, outcome: str = "cases", lags: dict[str, int] | None = None,
                  window: int = 7, family: Family = "auto", seasonal: bool = True,
                  weekday: bool = True) -> InfluenceResult:
    """Fit the count regression of `frame[outcome]` (daily, DatetimeIndex) on the lagged covariates."""
    lags = dict(lags or DEFAULT_LAGS)
    missing = [c for c in [outcome, *lags] if c not in frame.columns]
    if missing:
        raise InfluenceError("influence.missing_series", f"no data for {missing[0]}", f"缺少数据：{missing[0]}")
    x = _design(frame, lags, window, seasonal, weekday)
    data = pd.concat([frame[outcome].rename("_y"), x], axis=1).dropna()
    if len(data) < 60:
        raise InfluenceError("influence.too_short", f"{len(data)} usable days; at least 60 are needed",
                             "可用天数不足60天")
    if data["_y"].sum() < 20:
        raise InfluenceError("influence.too_few_cases", "fewer than 20 cases in the period", "病例数过少，无法建模")
    flat = [c for c in lags if data[c].std() == 0]
    if flat:
        raise InfluenceError("influence.constant_covariate", f"{flat[0]} does not vary", f"{flat[0]} 没有变化")
    y, X = data["_y"].to_numpy(dtype=float), data.drop(columns="_y")
    poisson = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    use_nb = family == "negbin" or (family == "auto" and dispersion > 1.5)
    alpha = None
    fit = poisson
    if use_nb:
        nb = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, maxiter=200)
        alpha = float(nb.params.iloc[-1])
        fit = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha)).fit()
    ci = fit.conf_int(0.05)
    coefs = [Coefficient(name, lag, float(fit.params[name]), float(fit.bse[name]), float(ci.loc[name, 0]),
                         float(ci.loc[name, 1]), float(fit.pvalues[name])) for name, lag in lags.items()]
    null_dev = float(fit.null_deviance)
    return InfluenceResult(
        family="negbin" if use_nb else "poisson", coefficients=coefs, intercept=float(fit.params["const"]),
        n_days=len(data), deviance_explained=float(1 - fit.deviance / null_dev) if null_dev > 0 else 0.0,
        aic=float(fit.aic), dispersion=dispersion, alpha=alpha,
        params={"lags": lags, "window": window, "seasonal": seasonal, "weekday": weekday,
                "start": str(data.index[0].date()), "end": str(data.index[-1].date())},
        last_values={name: frame[name].iloc[-(lag + window + 14):].tolist() for name, lag in lags.items()})


def adjust_projection(projection: Projection, result: InfluenceResult) -> Projection:
    """The projection scaled day by day by the covariates' effect relative to the days R was estimated on.

    For horizon day h the covariate is the mean of the `window` days ending `lag` days before it —
    known data while h ≤ lag, else the last known window; the factor is exp(Σ b·(x_h − x_now)).
    """
    window = int(result.params["window"])
    factors = np.ones(projection.horizon)
    detail = {}
    for c in result.coefficients:
        values = np.asarray(result.last_values.get(c.name, []), dtype=float)
        if values.size < window:
            continue
        now = float(np.nanmean(values[-(c.lag + window): len(values) - c.lag or None]))
        ahead = []
        for h in range(1, projection.horizon + 1):
            end = len(values) - c.lag + h  # exclusive end of the window for day T + h
            end = min(end, len(values))
            ahead.append(float(np.nanmean(values[end - window:end])))
        shift = np.asarray(ahead) - now
        factors *= np.exp(c.estimate * shift)
        detail[c.name] = [round(v, 3) for v in shift]
    samples = projection.samples * factors[None, :]
    quantiles = {k: np.quantile(samples, q, axis=0) for k, q in LEVELS.items()}
    params = {**projection.params, "covariate_adjusted": True, "covariate_factors": [round(f, 4) for f in factors],
              "covariate_shifts": detail, "influence_family": result.family}
    return replace(projection, samples=samples, mean=samples.mean(axis=0), quantiles=quantiles, params=params)


# ---------------------------------------------------------------- data from the database

def influence_frame(session: Session, *, district_code: str, disease_code: str, start: date, end: date) -> pd.DataFrame:
    """Daily cases (by onset; from the daily rollup, store.rollups) of a disease in a district with its weather
    and school illness absence rate."""
    days = pd.date_range(start, end, freq="D")
    cases = session.execute(text("""
        SELECT day, sum(n) AS n FROM case_daily
        WHERE basis = 'onset' AND district_code = :d AND disease_code = :code AND day BETWEEN :s AND :e
        GROUP BY day"""),
        {"d": district_code, "code": disease_code, "s": start, "e": end}).all()
    weather = session.execute(text("""
        SELECT day, temp_mean, humidity, rainfall_mm FROM weather_daily
        WHERE district_code = :d AND day BETWEEN :s AND :e"""), {"d": district_code, "s": start, "e": end}).all()
    absence = session.execute(text("""
        SELECT day, 1000.0 * sum(absent_ill) / nullif(sum(enrolled), 0) AS rate FROM school_absence
        WHERE district_code = :d AND day BETWEEN :s AND :e GROUP BY day"""),
        {"d": district_code, "s": start, "e": end}).all()
    frame = pd.DataFrame(index=days)
    frame["cases"] = pd.Series({pd.Timestamp(r.day): r.n for r in cases}, dtype=float).reindex(days).fillna(0)
    w = pd.DataFrame(weather, columns=["day", "temp_mean", "humidity", "rainfall_mm"])
    w.index = pd.to_datetime(w.pop("day"))
    frame = frame.join(w.astype(float))
    # schools report on school days only: carry the last school day's rate over weekends and holidays
    a = pd.Series({pd.Timestamp(r.day): float(r.rate) for r in absence if r.rate is not None}, dtype=float)
    frame["absent_ill_per_1000"] = a.reindex(days).ffill()
    return frame


def analyse_influence(session: Session, *, district_code: str, disease_code: str, end: date, days: int = 3 * 365,
                      lags: dict[str, int] | None = None, family: Family = "auto") -> InfluenceResult:
    """Fit the influence model on the last `days` days up to `end` (onsets of the last week are incomplete)."""
    last = end - timedelta(days=7)
    frame = influence_frame(session, district_code=district_code, disease_code=disease_code,
                            start=end - timedelta(days=days - 1), end=last)
    lags = dict(lags or DEFAULT_LAGS)
    usable = {k: v for k, v in lags.items() if frame[k].notna().sum() > 60}
    if not usable:
        raise InfluenceError("influence.no_covariates", "no weather or absenteeism data for this district",
                             "该区没有气象或缺课数据")
    return fit_influence(frame, lags=usable, family=family)
