"""Rt, 14-day projections and care burden for the map panels, from the database's daily case series."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from alerting import series as sq
from alerting.config import WarnConfig, load_config
from alerting.forecast.burden import BurdenRatios, district_burden
from alerting.forecast.projection import project_from_rt
from alerting.forecast.rt import RtInputError, estimate_r
from alerting.service import SignalError
from store.cases import Disease
from store.places import Region

HORIZON = 14
N_SIMS = 2000


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)


def _check(session: Session, principal: Principal, disease: str, region: str) -> Region:
    if session.get(Disease, disease) is None:
        raise SignalError("invalid", "disease.unknown", f"unknown disease {disease}", "病种代码不存在", "disease")
    reg = session.get(Region, region)
    if reg is None or reg.level not in ("district", "street"):
        raise SignalError("invalid", "region.unknown", f"unknown district or street {region}", "区域代码不存在", "region")
    if not principal.may_see_district(reg.district_code or reg.code):
        raise SignalError("forbidden", "scope.forbidden", f"region {region} is outside your scope", "无权查看该区域",
                          "region")
    return reg


def daily_series(session: Session, *, disease: str, region: Region, start: date, end: date,
                 principal: Principal | None = None) -> pd.Series:
    """Daily cases of one disease in a district or street (zero-filled)."""
    level: sq.Level = "district" if region.level == "district" else "street"
    district = region.district_code or region.code
    frame = sq.case_counts(session, level=level, start=start, end=end, district_code=district, principal=principal,
                           disease_codes=[disease])
    key = (region.code, disease)
    if key in frame.index:
        return frame.loc[key]
    return pd.Series(0.0, index=sq.day_columns(start, end))


def _estimate(counts: pd.Series, cfg: WarnConfig, disease: str, window: int) -> Any:
    si = cfg.serial_interval(disease)
    try:
        return estimate_r(counts, "parametric_si", mean_si=si.mean, std_si=si.sd, window=window), si
    except RtInputError as exc:
        raise SignalError("invalid", "forecast.bad_input", str(exc), "数据不足，无法估计Rt", "days") from None


def _project(rt: Any) -> Any:
    if not np.isfinite(rt.shape[-1]) or not np.isfinite(rt.scale[-1]) or rt.incidence[-14:].sum() == 0:
        raise SignalError("invalid", "forecast.too_few_cases", "too few recent cases to estimate Rt",
                          "近期病例过少，无法估计Rt和预测", "disease")
    return project_from_rt(rt, horizon=HORIZON, n_sims=N_SIMS, seed=0)


def rt_forecast(session: Session, *, principal: Principal, disease: str, region: str, as_of: date, days: int,
                window: int = 7, config: WarnConfig | None = None) -> dict[str, Any]:
    """Rt by Cori et al. (parametric serial interval per disease) and a 14-day projection with 95% intervals."""
    cfg = config or load_config(session)
    reg = _check(session, principal, disease, region)
    start = as_of - timedelta(days=days - 1)
    counts = daily_series(session, disease=disease, region=reg, start=start, end=as_of, principal=principal)
    rt, si = _estimate(counts, cfg, disease, window)
    proj = _project(rt)
    dates = counts.index
    return {
        "disease_code": disease, "region_code": region, "as_of": as_of,
        "serial_interval": {"mean": si.mean, "sd": si.sd},
        "observed": [{"date": d.date(), "count": float(v)} for d, v in counts.items()],
        "rt": [{"date": dates[int(te) - 1].date(), "mean": _num(m), "q025": _num(lo), "q975": _num(hi)}
               for te, m, lo, hi in zip(rt.t_end, rt.mean, rt.q025, rt.q975, strict=True)],
        "projection": [{"date": as_of + timedelta(days=i + 1), "mean": float(proj.mean[i]),
                        "q025": float(proj.quantiles["q025"][i]), "q975": float(proj.quantiles["q975"][i])}
                       for i in range(proj.horizon)],
    }


def burden_forecast(session: Session, *, principal: Principal, disease: str, as_of: date, days: int,
                    config: WarnConfig | None = None) -> dict[str, Any]:
    """Projected fever-clinic visits, admissions and occupied beds per district in the principal's scope."""
    cfg = config or load_config(session)
    if session.get(Disease, disease) is None:
        raise SignalError("invalid", "disease.unknown", f"unknown disease {disease}", "病种代码不存在", "disease")
    districts = session.scalars(select(Region).where(Region.level == "district").order_by(Region.code))
    out = []
    start = as_of - timedelta(days=days - 1)
    for reg in districts:
        if not principal.may_see_district(reg.code):
            continue
        counts = daily_series(session, disease=disease, region=reg, start=start, end=as_of)
        try:
            rt, _ = _estimate(counts, cfg, disease, 7)
            proj = _project(rt)
        except SignalError:
            continue  # too few cases in this district: nothing to project
        r = cfg.burden(reg.code)
        ratios = BurdenRatios(r.visits_per_case, r.admission_share, r.mean_los_days, r.los_model)
        b = district_burden(reg.code, proj, ratios, recent_cases=counts.to_numpy()[-30:])
        out.append({"district_code": reg.code, "ratios": r.model_dump(), "metrics": [
            {"metric": metric, "days": [{"date": as_of + timedelta(days=i + 1), "mean": float(st["mean"][i]),
                                         "q025": float(st["q025"][i]), "q975": float(st["q975"][i])}
                                        for i in range(len(st["mean"]))]}
            for metric, st in b.metrics.items()]})
    return {"disease_code": disease, "as_of": as_of, "districts": out}
