"""Active warning signals (points) and space-time clusters (polygons), with the evidence behind each."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import ScopeError, scope_sql
from geo import beijing
from geo.dates import CST
from geo.geojson import Feature, FeatureCollection, feature, feature_collection, parsed
from layers.base import Area, Layer, LayerError, LayerFilters, resolve_area
from layers.registry import register
from store import topics
from store.grades import grade_props
from store.labels import model_name

INACTIVE_STATES = ("excluded", "closed")
STATE_ZH = {"new": "新信号", "verifying": "核实中", "excluded": "已排除", "suspected": "疑似事件",
            "confirmed": "已确认", "responding": "处置中", "closed": "已结案"}


def _scope(principal: Principal) -> tuple[str, dict[str, Any]]:
    """Districts by `s.district_code`; an institution the signals sent to it (its receipts)."""
    return scope_sql(principal, "s.district_code",
                     "ANY(ARRAY(SELECT sr.institution_id FROM signal_receipt sr WHERE sr.signal_id = s.id))")


def _area(area: Area) -> tuple[str, dict[str, Any]]:
    if area.kind == "district":
        return "s.district_code = :area", {"area": area.code}
    if area.kind in ("street", "grid"):
        # Interiors must meet: a neighbouring street's signal only shares a boundary (issue #15, item 5);
        # a district-wide signal covers the street and stays listed.
        return ("(s.region_code = :area OR ST_Relate(coalesce(s.geom, r.label_point), "
                "(SELECT geom FROM region WHERE code = :area), 'T********'))", {"area": area.code})
    if area.kind == "institution":
        return ("EXISTS (SELECT 1 FROM signal_receipt sr WHERE sr.signal_id = s.id AND sr.institution_id = :area_inst)",
                {"area_inst": area.institution_id})
    return "TRUE", {}


def signal_where(principal: Principal, area: Area, filters: LayerFilters, *, active_only: bool = True
                 ) -> tuple[str, dict[str, Any]]:
    """WHERE clause on `signal s LEFT JOIN region r` for scope, area, diseases and firing period.

    Only warning events (kind 'event'): a model's raw alarm is evidence of its event, never listed on its own.
    """
    parts, params = ["s.kind = 'event'"], {}
    for sql, p in (_scope(principal), _area(area)):
        parts.append(sql)
        params.update(p)
    if active_only:
        parts.append("s.state NOT IN ('excluded', 'closed')")
    if filters.disease:
        parts.append("s.disease_code = ANY(:diseases)")
        params["diseases"] = list(filters.disease)
    if filters.until:
        parts.append("s.first_fired_at < :until_ts")
        params["until_ts"] = datetime.combine(filters.until + timedelta(days=1), time(0), CST)
    if filters.since:
        parts.append("s.last_fired_at >= :since_ts")
        params["since_ts"] = datetime.combine(filters.since, time(0), CST)
    if filters.bbox:
        parts.append("coalesce(s.geom, r.label_point) && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        params.update(dict(zip("wsen", filters.bbox, strict=True)))
    return " AND ".join(parts), params


def _rows(session: Session, principal: Principal, filters: LayerFilters, *, polygons: bool) -> list[Any]:
    area = resolve_area(session, principal, filters.region)
    where, params = signal_where(principal, area, filters)
    geom = "s.geom" if polygons else ("CASE WHEN ST_GeometryType(s.geom) IN ('ST_Polygon','ST_MultiPolygon') "
                                      "THEN ST_PointOnSurface(s.geom) ELSE coalesce(s.geom, r.label_point) END")
    # Every active signal is a point on the map; clusters are also drawn as their area.
    poly_filter = "ST_GeometryType(s.geom) IN ('ST_Polygon', 'ST_MultiPolygon')" if polygons else "TRUE"
    params["limit"] = filters.limit
    sql = f"""SELECT s.id, s.title, s.model, s.origin, s.disease_code, d.name AS disease_name, s.region_code,
                     r.name AS region_name, s.district_code, s.state, s.observed, s.threshold, s.window_start,
                     s.window_end, s.fire_count, s.first_fired_at, s.last_fired_at, s.verify_due_at, s.grade,
                     ST_AsGeoJSON({geom}, 6) AS geometry
              FROM signal s LEFT JOIN region r ON r.code = s.region_code LEFT JOIN disease d ON d.code = s.disease_code
              WHERE {where} AND {poly_filter} AND coalesce(s.geom, r.label_point) IS NOT NULL
              ORDER BY s.last_fired_at DESC, s.id DESC LIMIT :limit"""
    return list(session.execute(text(sql), params))


def _feature(r: Any) -> Feature:
    return feature(parsed(r.geometry), id=r.id, properties={
        "id": r.id, "title": r.title, "model": r.model, "model_zh": model_name(r.model),
        "origin": r.origin, "disease_code": r.disease_code, "disease_name": r.disease_name,
        "region_code": r.region_code, "region_name": r.region_name, "district_code": r.district_code,
        "state": r.state, "state_zh": STATE_ZH.get(r.state, r.state), "observed": r.observed,
        "threshold": r.threshold, "window_start": r.window_start.isoformat() if r.window_start else None,
        "window_end": r.window_end.isoformat() if r.window_end else None, "fire_count": r.fire_count,
        "first_fired_at": beijing.iso(r.first_fired_at), "last_fired_at": beijing.iso(r.last_fired_at),
        "verify_due_at": beijing.iso(r.verify_due_at), **grade_props(r.grade)})


def signals_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Active signals as points (a cluster's point is on its area)."""
    return feature_collection([_feature(r) for r in _rows(session, principal, filters, polygons=False)])


def clusters_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Active signals whose geometry is an area: space-time scan clusters."""
    return feature_collection([_feature(r) for r in _rows(session, principal, filters, polygons=True)])


def signal_evidence(session: Session, principal: Principal, signal_id: int) -> dict[str, Any]:
    """One signal with its evidence (series, baseline, threshold, observed, model, params) for display."""
    row = session.execute(text("""SELECT s.*, r.name AS region_name, d.name AS disease_name,
                                  ST_AsGeoJSON(coalesce(s.geom, r.label_point), 6) AS geometry
                                  FROM signal s LEFT JOIN region r ON r.code = s.region_code
                                  LEFT JOIN disease d ON d.code = s.disease_code WHERE s.id = :id"""),
                          {"id": signal_id}).mappings().first()
    if row is None:
        raise LayerError(404, "signal.not_found", f"unknown signal {signal_id}", "信号不存在", "id")
    scope, params = _scope(principal)
    visible = session.execute(text(f"SELECT 1 FROM signal s WHERE s.id = :id AND {scope}"),
                              {"id": signal_id, **params}).first()
    if visible is None:
        raise ScopeError(f"{principal.username} may not see signal {signal_id}")
    evidence = dict(row["evidence"] or {})
    return {"id": row["id"], "title": row["title"], "model": row["model"],
            "model_zh": model_name(row["model"], (row["params"] or {}).get("method")), "state": row["state"],
            "state_zh": STATE_ZH.get(row["state"], row["state"]), "disease_code": row["disease_code"],
            "disease_name": row["disease_name"], "region_code": row["region_code"],
            "region_name": row["region_name"], "observed": row["observed"], "threshold": row["threshold"],
            "window_start": row["window_start"], "window_end": row["window_end"], "params": row["params"] or {},
            "evidence": evidence, "series": evidence_series(evidence), "first_fired_at": row["first_fired_at"],
            "kind": row["kind"], **grade_props(row["grade"]),
            "alarms": event_alarms(session, signal_id, evidence)
            if row["kind"] == "event" and principal.role != "institution_user" else []}


def _expected(fact: dict[str, Any] | None, alarm_evidence: dict[str, Any]) -> float | None:
    """The alarm's expected count: as fused into the event, else its model's baseline."""
    for value in ((fact or {}).get("expected"), alarm_evidence.get("expected"), alarm_evidence.get("baseline")):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def event_alarms(session: Session, event_id: int, evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The raw alarms an event fused: model (Chinese), place, day, observed and expected, oldest first."""
    facts = {f.get("alarm_id"): f for f in ((evidence.get("fusion") or {}).get("facts") or []) if f.get("alarm_id")}
    rows = session.execute(text("""SELECT a.id, a.model, a.params, a.region_code, r.name AS region_name, a.window_end,
                                          a.observed, a.evidence, a.title
                                   FROM signal a LEFT JOIN region r ON r.code = a.region_code
                                   WHERE a.event_id = :id AND a.kind = 'alarm'
                                   ORDER BY a.window_end, a.id LIMIT 200"""), {"id": event_id})
    return [{"id": a.id, "model": a.model, "model_zh": model_name(a.model, (a.params or {}).get("method")),
             "title": a.title, "region_code": a.region_code, "region_name": a.region_name or a.region_code,
             "day": a.window_end.isoformat() if a.window_end else None, "observed": a.observed,
             "expected": _expected(facts.get(a.id), a.evidence or {})} for a in rows]


def evidence_series(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence as rows {date, observed, baseline, threshold}, tolerant of list or dict shapes."""
    series = evidence.get("series")
    if isinstance(series, list) and series and isinstance(series[0], dict):
        return [{"date": str(p.get("date") or p.get("day") or i), "observed": p.get("observed", p.get("count")),
                 "baseline": p.get("baseline"), "threshold": p.get("threshold")} for i, p in enumerate(series)]
    dates = evidence.get("dates") or []
    values = series if isinstance(series, list) else []
    if isinstance(series, dict):
        dates, values = list(series.keys()), list(series.values())
    baseline, threshold = evidence.get("baseline"), evidence.get("threshold")
    out = []
    for i, value in enumerate(values):
        out.append({"date": str(dates[i]) if i < len(dates) else str(i), "observed": value,
                    "baseline": baseline[i] if isinstance(baseline, list) and i < len(baseline) else baseline,
                    "threshold": threshold[i] if isinstance(threshold, list) and i < len(threshold) else threshold})
    return out


def signals_updated_at(session: Session, principal: Principal) -> datetime | None:
    """When a signal visible to `principal` last changed."""
    scope, params = _scope(principal)
    return session.execute(text(f"SELECT max(s.updated_at) FROM signal s WHERE {scope}"), params).scalar()


register(Layer("signals", "预警信号", "Point", signals_layer, signals_updated_at,
               meta={"states_excluded": list(INACTIVE_STATES)}, depends_on=(topics.SIGNALS,)))
register(Layer("clusters", "时空聚集区", "Polygon", clusters_layer, signals_updated_at,
               depends_on=(topics.SIGNALS,)))
