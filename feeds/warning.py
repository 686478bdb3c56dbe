"""Warning models on the other departments' feeds, feeding the same signal loop as the case-based models.

* School absenteeism (education): illness absences per street × symptom group on school days.
* Pharmacy sales (pharmacy): units per street × sentinel drug group per day.
  Both run EARS C1/C2/C3 and CUSUM with the `warn.ears` / `warn.cusum` settings; signals have
  origin "department" and source_dept "education" / "pharmacy".
* Public opinion: an item that names a notifiable disease (feeds.keywords) and a place raises a signal
  for verification (origin "opinion"), one per item.

The warning run takes them as an alarm source (alerting must not import feeds):
`alerting.runner.run_all(session, as_of=day, district_code=d, sources=[feed_alarm_source])`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alerting.config import WarnConfig, load_config
from alerting.detectors.base import DetectionResult
from alerting.detectors.cusum import cusum
from alerting.detectors.ears import ears_c
from alerting.service import Alarm
from feeds.keywords import DiseaseLexicon
from geo.dates import CST
from store.feeds import SYMPTOM_GROUPS
from store.places import Region

GROUP_ZH = {"ill": "因病缺课", "fever": "发热", "respiratory": "呼吸道症状", "gastrointestinal": "胃肠道症状",
            "rash": "皮疹", "antipyretic": "退热药", "cough_cold": "止咳感冒药", "antidiarrhoeal": "止泻药"}
ABSENCE_GROUPS = ("ill",) + SYMPTOM_GROUPS
SALES_REL_SIGMA = 0.12  # drug units: the baseline sd is at least 12% of the recent mean

@dataclass(frozen=True)
class FeedAlarm:
    """An alarm of a feed model and where it comes from (origin and source department of its signal)."""

    alarm: Alarm
    origin: str  # department | opinion
    source_dept: str  # education | pharmacy | opinion


# ---------------------------------------------------------------- series

def absence_series(session: Session, *, start: date, end: date, district_code: str | None) -> pd.DataFrame:
    """Illness absences per (street, group) × school day: only days on which the district's schools reported."""
    rows = session.execute(text(f"""
        SELECT s.region_code AS street, a.day, sum(a.absent_ill) AS ill,
               {', '.join(f'sum(a.{g}) AS {g}' for g in SYMPTOM_GROUPS)}
        FROM school_absence a JOIN school s ON s.id = a.school_id
        WHERE a.day BETWEEN :start AND :end AND s.region_code IS NOT NULL
          AND (CAST(:district AS text) IS NULL OR a.district_code = :district)
        GROUP BY s.region_code, a.day"""), {"start": start, "end": end, "district": district_code}).all()
    if not rows:
        return _empty(("street", "group"))
    df = pd.DataFrame(rows, columns=["street", "day", *ABSENCE_GROUPS])
    long = df.melt(id_vars=["street", "day"], var_name="group", value_name="n")
    wide = long.pivot_table(index=["street", "group"], columns="day", values="n", aggfunc="sum", fill_value=0)
    wide.columns = pd.DatetimeIndex(wide.columns)
    return wide.sort_index(axis=1).astype(float)


def sales_series(session: Session, *, start: date, end: date, district_code: str | None) -> pd.DataFrame:
    """Units sold per (street, drug group) × calendar day (days without a report count 0)."""
    rows = session.execute(text("""
        SELECT region_code AS street, drug_group AS group, day, sum(units) AS n FROM drug_sales
        WHERE day BETWEEN :start AND :end AND region_code IS NOT NULL
          AND (CAST(:district AS text) IS NULL OR district_code = :district)
        GROUP BY region_code, drug_group, day"""), {"start": start, "end": end, "district": district_code}).all()
    if not rows:
        return _empty(("street", "group"))
    df = pd.DataFrame(rows, columns=["street", "group", "day", "n"])
    df["day"] = pd.to_datetime(df["day"])
    wide = df.pivot_table(index=["street", "group"], columns="day", values="n", aggfunc="sum", fill_value=0)
    return wide.reindex(columns=pd.date_range(start, end, freq="D"), fill_value=0).astype(float)


def relative_to_rest(frame: pd.DataFrame) -> pd.DataFrame:
    """Each street's series rescaled by the rest of the district's same-day level (same group).

    `y_t · mean(R) / R_t` with `R_t` the other streets' total: the season, weekday and district-wide
    trend cancel, and what stays is a street rising against its neighbours. Days with no rest sales keep y.
    """
    if frame.empty:
        return frame
    out = frame.copy()
    groups = frame.index.get_level_values("group")
    for group in groups.unique():
        part = frame[groups == group]
        rest = part.sum(axis=0).to_numpy()[None, :] - part.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = part.to_numpy() * rest.mean(axis=1, keepdims=True) / rest
        out.loc[part.index] = np.where(rest > 0, scaled, part.to_numpy())
    return out


def _empty(keys: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(np.zeros((0, 0)), index=pd.MultiIndex.from_tuples([], names=list(keys)))


# ---------------------------------------------------------------- alarms

def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, 4) if np.isfinite(v) else None


def _last_alarm(alarm: np.ndarray, index: pd.Index, as_of: date, lookback: int) -> int | None:
    """The latest alarm on a day within the `lookback` days up to `as_of`."""
    first = pd.Timestamp(as_of - timedelta(days=lookback - 1))
    hits = [i for i in np.flatnonzero(alarm) if index[i] >= first]
    return int(hits[-1]) if hits else None


def _detect(y: np.ndarray, dates: pd.Index, cfg: WarnConfig, floor: float) -> list[DetectionResult]:
    """The EARS methods of `warn.ears` and CUSUM of `warn.cusum` on one series, sd floored at `floor`."""
    out = [ears_c(y, m, baseline=cfg.ears.baseline, min_sigma=floor, dates=dates, c3_form=cfg.ears.c3_form)
           for m in cfg.ears.methods]
    c = cfg.cusum
    if len(y) > c.baseline + c.guard:
        out.append(cusum(y, k=c.k, h=c.h, reference="moving", baseline=c.baseline, guard=c.guard,
                         min_sigma=max(c.min_sigma, floor), dates=dates))
    return out


def _series_alarms(frame: pd.DataFrame, *, dept: str, as_of: date, cfg: WarnConfig, regions: dict[str, Region],
                   detail: Callable[[str, str, date], dict[str, Any]], rel_sigma: float = 0.0) -> list[FeedAlarm]:
    """At most one EARS alarm (the method that fired last) and one CUSUM alarm per street × group series.

    `rel_sigma` floors the baseline sd at that share of the recent mean, so that large counts (drug
    units) need a relative rise, not just a few more units, to alarm.
    """
    if frame.empty or frame.shape[1] < cfg.ears.baseline + 5:
        return []
    values = frame.to_numpy()
    alarms = []
    for i, (street, group) in enumerate(frame.index):
        y = values[i]
        floor = max(cfg.ears.min_sigma, rel_sigma * float(np.mean(y[-28:])))
        hits: dict[str, list[tuple[int, DetectionResult]]] = {}
        for r in _detect(y, frame.columns, cfg, floor):
            k = _last_alarm(np.asarray(r.alarm, dtype=bool), r.index, as_of, cfg.lookback_days)
            if k is not None and y[k] >= cfg.ears.min_count:
                hits.setdefault("cusum" if r.model == "cusum" else "ears", []).append((k, r))
        for family, found in hits.items():
            k, r = max(found, key=lambda h: h[0])  # the method that fired last (the first listed on a tie)
            alarm = _alarm(r, k, y, family=family, street=street, group=group, dept=dept, as_of=as_of,
                           region=regions.get(street), detail=detail)
            alarm.evidence["methods_fired"] = [h[1].params.get("method", "CUSUM") for h in found]
            alarms.append(FeedAlarm(alarm, "department", dept))
    return alarms


def _alarm(r: DetectionResult, k: int, counts: np.ndarray, *, family: str, street: str, group: str, dept: str,
           as_of: date, region: Region | None, detail: Callable[[str, str, date], dict[str, Any]]) -> Alarm:
    day = pd.Timestamp(r.index[k]).date()
    name = region.name if region else street
    what = f"{name}学校{GROUP_ZH[group]}" if dept == "education" else f"{name}药店{GROUP_ZH[group]}销量"
    if dept == "education" and group == "ill":
        what = f"{name}学校因病缺课人数"
    label = "CUSUM" if family == "cusum" else f"EARS-{r.params['method']}"
    baseline = r.extra.get("baseline_mean")
    sl = slice(max(0, k + 1 - 28), k + 1)
    return Alarm(
        model=family, district_code=street[:6], region_code=street, disease_code=None,
        title=f"{what}异常升高（{label}）", as_of=day, observed=_num(r.observed[k]), threshold=_num(r.threshold[k]),
        window_start=day, params=r.params,
        evidence={"model": family, "method": r.model, "level": "street", "source_dept": dept, "series_kind": dept, "group": group,
                  "group_name": GROUP_ZH[group], "as_of": as_of.isoformat(), "alarm_day": day.isoformat(),
                  "observed": _num(r.observed[k]), "threshold": _num(r.threshold[k]),
                  "baseline": _num(baseline[k]) if baseline is not None else None, "parameters": r.params,
                  "region_name": name, "scale": "relative_to_rest",
                  "series": {"dates": [pd.Timestamp(d).date().isoformat() for d in r.index[sl]],
                             "counts": [_num(v) for v in counts[sl]],
                             "threshold": [_num(v) for v in np.asarray(r.threshold)[sl]],
                             "baseline": [_num(v) for v in np.asarray(baseline)[sl]] if baseline is not None else []},
                  **detail(street, group, day)},
        geometry=to_shape(region.geom) if region is not None and region.geom is not None else None,
        scope_key=f"{dept}:{group}", push_region_codes=[street])


def _school_detail(session: Session) -> Callable[[str, str, date], dict[str, Any]]:
    def detail(street: str, group: str, day: date) -> dict[str, Any]:
        col = "absent_ill" if group == "ill" else group
        rows = session.execute(text(f"""
            SELECT s.code, s.name, s.kind, a.enrolled, a.{col} AS n FROM school_absence a
            JOIN school s ON s.id = a.school_id WHERE s.region_code = :street AND a.day = :day AND a.{col} > 0
            ORDER BY a.{col} DESC LIMIT 5"""), {"street": street, "day": day}).all()
        return {"schools": [{"code": r.code, "name": r.name, "kind": r.kind, "enrolled": r.enrolled, "count": r.n}
                            for r in rows]}
    return detail


def _pharmacy_detail(session: Session) -> Callable[[str, str, date], dict[str, Any]]:
    def detail(street: str, group: str, day: date) -> dict[str, Any]:
        rows = session.execute(text("""
            SELECT p.code, p.name, d.units FROM drug_sales d JOIN pharmacy p ON p.id = d.pharmacy_id
            WHERE d.region_code = :street AND d.day = :day AND d.drug_group = :g ORDER BY d.units DESC LIMIT 5"""),
            {"street": street, "day": day, "g": group}).all()
        return {"pharmacies": [{"code": r.code, "name": r.name, "units": r.units} for r in rows]}
    return detail


def opinion_alarms(session: Session, *, as_of: date, district_code: str | None, cfg: WarnConfig,
                   regions: dict[str, Region]) -> list[FeedAlarm]:
    """One alarm per recent item that names a notifiable disease and a place (for verification)."""
    start = datetime.combine(as_of - timedelta(days=cfg.lookback_days - 1), time(0), CST)
    end = datetime.combine(as_of + timedelta(days=1), time(0), CST)
    rows = session.execute(text("""
        SELECT o.id, o.source, o.title, o.excerpt, o.keywords, o.place_text, o.published_at, o.region_code,
               o.district_code, o.matched_disease_code, d.name AS disease_name, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat
        FROM opinion_item o JOIN disease d ON d.code = o.matched_disease_code
        WHERE o.published_at >= :start AND o.published_at < :end AND o.region_code IS NOT NULL
          AND (CAST(:district AS text) IS NULL OR o.district_code = :district)
        ORDER BY o.published_at"""), {"start": start, "end": end, "district": district_code}).all()
    if not rows:
        return []
    lexicon = DiseaseLexicon.load(session)
    out = []
    for r in rows:
        day = r.published_at.astimezone(CST).date()
        hit = lexicon.match(r.title, r.excerpt, " ".join(r.keywords or []))
        region = regions.get(r.region_code)
        geometry = Point(r.lon, r.lat) if r.lon is not None else None
        alarm = Alarm(
            model="opinion", district_code=r.district_code, region_code=r.region_code,
            disease_code=r.matched_disease_code, title=f"舆情：{r.title}"[:200], as_of=day, observed=1.0,
            threshold=None, window_start=day, params={"lookback_days": cfg.lookback_days},
            evidence={"model": "opinion", "level": "item", "source_dept": "opinion", "as_of": as_of.isoformat(),
                      "alarm_day": day.isoformat(), "item_id": r.id, "source": r.source, "title": r.title,
                      "excerpt": r.excerpt, "keywords": list(r.keywords or []), "place_text": r.place_text,
                      "published_at": r.published_at.isoformat(), "matched_word": hit.word if hit else None,
                      "disease_name": r.disease_name, "region_name": region.name if region else r.region_code},
            geometry=geometry, scope_key=f"opinion:{r.id}", push_region_codes=[r.region_code])
        out.append(FeedAlarm(alarm, "opinion", "opinion"))
    return out


def feed_alarms(session: Session, *, as_of: date, district_code: str | None,
                config: WarnConfig | None = None) -> list[FeedAlarm]:
    """Every feed model's alarms for `as_of` (nothing written)."""
    cfg = config or load_config(session)
    start = as_of - timedelta(days=cfg.history_days - 1)
    stmt = select(Region).where(Region.level.in_(("district", "street")))
    if district_code:
        stmt = stmt.where(Region.district_code == district_code)
    regions = {r.code: r for r in session.scalars(stmt)}
    absence = relative_to_rest(absence_series(session, start=start, end=as_of, district_code=district_code))
    sales = relative_to_rest(sales_series(session, start=start, end=as_of, district_code=district_code))
    return (_series_alarms(absence, dept="education", as_of=as_of, cfg=cfg, regions=regions,
                           detail=_school_detail(session))
            + _series_alarms(sales, dept="pharmacy", as_of=as_of, cfg=cfg, regions=regions,
                             detail=_pharmacy_detail(session), rel_sigma=SALES_REL_SIGMA)
            + opinion_alarms(session, as_of=as_of, district_code=district_code, cfg=cfg, regions=regions))


def feed_alarm_source(session: Session, *, as_of: date, district_code: str | None,
                      config: WarnConfig | None = None) -> list[Alarm]:
    """The feeds' alarms, marked with their origin and department, for `alerting.runner.run_all(sources=…)`."""
    return [replace(fa.alarm, origin=fa.origin, source_dept=fa.source_dept)
            for fa in feed_alarms(session, as_of=as_of, district_code=district_code, config=config)]
