"""Case clusters (聚集性病例) in the warning runner and the backtest: cases read from the reports, then
`alerting.detectors.case_cluster` per disease of the setting `warn.case_clusters`.

The runner looks at the last `lookback_days` days (cases reported by the end of the run's day) and raises an
alarm for the latest day with a cluster, at the street of its centre case; the streets of its cases are the
alarm's cluster locations, so fusion joins it to events of any of them. The backtest replays every day.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from geoalchemy2.shape import to_shape
from shapely.ops import unary_union
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting import series as sq
from alerting.config import CaseClusterCfg
from alerting.detectors.case_cluster import CaseCluster, cluster_on, to_metres
from alerting.evidence import Evidence
from alerting.run_context import RunContext
from alerting.service import Alarm
from store.cases import CaseReport

MODEL = "case_cluster"


@dataclass(frozen=True)
class ClusterCases:
    """The cases a cluster rule looks at: ids, onset days (ordinals), streets, districts and home metres."""

    ids: np.ndarray
    days: np.ndarray
    regions: np.ndarray
    districts: np.ndarray
    xy: np.ndarray

    def streets(self, cl: CaseCluster) -> list[str]:
        """The cluster's streets, its centre's first."""
        centre = str(self.regions[cl.centre])
        return [centre, *sorted({str(self.regions[i]) for i in cl.members} - {centre})]


def read_cases(session: Session, *, disease: str, rule: CaseClusterCfg, start: date, end: date,
               district_code: str | None, reported_by: date | None = None) -> ClusterCases:
    """Cases of `disease` aged ≤ `rule.max_age` with onset in `start … end` and a home point."""
    stmt = (select(CaseReport.id, CaseReport.onset_date, CaseReport.region_code, CaseReport.district_code,
                   func.ST_X(CaseReport.geom), func.ST_Y(CaseReport.geom))
            .where(CaseReport.disease_code == disease, CaseReport.age <= rule.max_age, CaseReport.geom.is_not(None),
                   CaseReport.onset_date >= start, CaseReport.onset_date <= end)
            .order_by(CaseReport.onset_date, CaseReport.id))
    if district_code:
        stmt = stmt.where(CaseReport.district_code == district_code)
    if reported_by is not None:
        stmt = stmt.where(CaseReport.report_time < sq.end_of_day(reported_by))
    rows = session.execute(stmt).all()
    lon = np.array([r[4] for r in rows], dtype=float)
    lat = np.array([r[5] for r in rows], dtype=float)
    return ClusterCases(ids=np.array([r[0] for r in rows], dtype=int),
                        days=np.array([r[1].toordinal() for r in rows], dtype=int),
                        regions=np.array([r[2] or r[3] for r in rows], dtype=object),
                        districts=np.array([r[3] for r in rows], dtype=object), xy=to_metres(lon, lat))


def clusters_by_district(cases: ClusterCases, day: int, rule: CaseClusterCfg) -> list[tuple[str, CaseCluster]]:
    """Each district's cluster on `day` (clusters do not cross district borders: each district runs its own)."""
    out = []
    for district in sorted(set(cases.districts.tolist())):
        idx = np.flatnonzero(cases.districts == district)
        cl = cluster_on(cases.days[idx], cases.xy[idx], day, min_cases=rule.min_cases, window=rule.days,
                        radius_m=rule.radius_m)
        if cl is not None:
            members = tuple(int(idx[i]) for i in cl.members)
            out.append((str(district), CaseCluster(day=cl.day, centre=int(idx[cl.centre]), members=members)))
    return out


def case_cluster_alarms(ctx: RunContext) -> list[Alarm]:
    """The latest cluster of the last `lookback_days` days per disease rule and district."""
    alarms = []
    lookback = ctx.cfg.lookback_days
    for disease, rule in ctx.cfg.case_clusters.items():
        start = ctx.as_of - timedelta(days=lookback + rule.days - 2)
        cases = read_cases(ctx.session, disease=disease, rule=rule, start=start, end=ctx.as_of,
                           district_code=ctx.district_code, reported_by=ctx.as_of)
        latest: dict[str, CaseCluster] = {}
        for day in range(ctx.as_of.toordinal() - lookback + 1, ctx.as_of.toordinal() + 1):
            latest.update(clusters_by_district(cases, day, rule))
        alarms += [_alarm(ctx, disease, rule, cases, cl) for cl in latest.values()]
    return alarms


def _alarm(ctx: RunContext, disease: str, rule: CaseClusterCfg, cases: ClusterCases, cl: CaseCluster) -> Alarm:
    streets = cases.streets(cl)
    names = [ctx.regions[s].name if s in ctx.regions else s for s in streets]
    disease_name = ctx.diseases[disease].name if disease in ctx.diseases else disease
    day = date.fromordinal(cl.day)
    params = {"min_cases": rule.min_cases, "days": rule.days, "radius_m": rule.radius_m, "max_age": rule.max_age,
              "comparison": ">="}
    members = [{"id": int(cases.ids[i]), "onset_date": date.fromordinal(int(cases.days[i])).isoformat(),
                "region_code": str(cases.regions[i])} for i in cl.members]
    evidence = Evidence(model=MODEL, level="street", as_of=ctx.as_of, alarm_day=day, observed=len(cl.members),
                        threshold=rule.min_cases, baseline=None, parameters=params, disease_name=disease_name,
                        region_name=names[0], cases=members, series=_member_days(cases, cl, rule.days),
                        details={"cluster": {"locations": streets, "location_names": names}})
    title = f"{names[0]}{disease_name}聚集性病例（{rule.days}天内{len(cl.members)}例，住址在{rule.radius_m:g}米范围内）"
    return Alarm(model=MODEL, district_code=str(cases.districts[cl.centre]), region_code=streets[0],
                 disease_code=disease, title=title, as_of=day, observed=float(len(cl.members)),
                 threshold=float(rule.min_cases), window_start=day - timedelta(days=rule.days - 1), params=params,
                 evidence=evidence.as_json(), geometry=_geometry(ctx, streets), push_region_codes=streets)


def _member_days(cases: ClusterCases, cl: CaseCluster, days: int) -> dict[str, Any]:
    """The cluster's cases per onset day over its window (the evidence chart)."""
    span = range(cl.day - days + 1, cl.day + 1)
    onsets = [int(cases.days[i]) for i in cl.members]
    return {"dates": [date.fromordinal(d).isoformat() for d in span], "counts": [onsets.count(d) for d in span]}


def _geometry(ctx: RunContext, codes: list[str]) -> Any:
    shapes = [to_shape(ctx.regions[c].geom) for c in codes if c in ctx.regions and ctx.regions[c].geom is not None]
    return unary_union(shapes) if shapes else None
