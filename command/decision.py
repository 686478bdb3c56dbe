"""Decision support for a point or incident: nearest available teams with ETA, resources within reach,
nearest fever clinics and the population inside buffers (all distances on the WGS84 spheroid)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from command.errors import CommandError
from layers.coverage import LEAF_REGIONS
from store.accounts import Setting
from store.response import Incident

DEFAULT_SPEED_KMH = 30.0  # urban driving speed of a response vehicle
DEFAULT_DETOUR = 1.4  # road distance / straight-line distance in a dense city
SPEED_KEY, DETOUR_KEY = "command.speed_kmh", "command.detour_factor"
_PT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"


@dataclass(frozen=True)
class TravelParams:
    """How straight-line distance becomes an ETA: minutes = metres × detour / speed."""

    speed_kmh: float = DEFAULT_SPEED_KMH
    detour: float = DEFAULT_DETOUR

    def eta_minutes(self, metres: float) -> float:
        return metres * self.detour / (self.speed_kmh * 1000.0 / 60.0)


@dataclass(frozen=True)
class TeamOption:
    id: int
    code: str
    name: str
    type: str
    status: str
    members: int
    video_online: bool
    lon: float
    lat: float
    distance_m: float
    eta_min: float


@dataclass(frozen=True)
class SiteOption:
    id: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    distance_m: float
    eta_min: float
    items: list[dict[str, Any]] = field(default_factory=list)


def travel_params(session: Session, *, speed_kmh: float | None = None, detour: float | None = None) -> TravelParams:
    """Request values first, then the run-time settings table, then the defaults."""
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key.in_((SPEED_KEY, DETOUR_KEY)))).all()
    stored: dict[str, Any] = dict(rows)
    speed = speed_kmh or _positive(stored.get(SPEED_KEY)) or DEFAULT_SPEED_KMH
    factor = detour or _positive(stored.get(DETOUR_KEY)) or DEFAULT_DETOUR
    return TravelParams(speed_kmh=float(speed), detour=float(factor))


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def incident_point(session: Session, *, incident_id: int, district_code: str | None) -> tuple[float, float]:
    """The incident's point (or a point on its area) as (lon, lat); 404 outside the caller's district."""
    row = session.execute(
        select(Incident.district_code,
               text("ST_X(ST_PointOnSurface(COALESCE(incident.geom, incident.area)))"),
               text("ST_Y(ST_PointOnSurface(COALESCE(incident.geom, incident.area)))"))
        .where(Incident.id == incident_id)).first()
    if row is None or (district_code is not None and row[0] != district_code) or row[1] is None:
        raise CommandError("not_found", "incident.not_found", f"incident {incident_id} not found", "事件不存在",
                           "incident_id")
    return float(row[1]), float(row[2])


def nearest_teams(session: Session, *, lon: float, lat: float, k: int = 5, district_code: str | None,
                  statuses: tuple[str, ...] = ("standby",), types: tuple[str, ...] | None = None,
                  travel: TravelParams = TravelParams()) -> list[TeamOption]:
    """The k teams with a position and one of `statuses`, nearest first by geodesic distance."""
    rows = session.execute(text(f"""
        SELECT t.id, t.code, t.name, t.type, t.status, t.members, t.video_online, ST_X(t.geom), ST_Y(t.geom),
               ST_Distance(t.geom::geography, {_PT}::geography) AS d
        FROM team t
        WHERE t.geom IS NOT NULL AND t.status = ANY(:statuses)
          AND (CAST(:district AS text) IS NULL OR t.district_code = :district)
          AND (CAST(:types AS text[]) IS NULL OR t.type = ANY(CAST(:types AS text[])))
        ORDER BY d, t.id LIMIT :k"""),
        {"lon": lon, "lat": lat, "statuses": list(statuses), "district": district_code,
         "types": list(types) if types else None, "k": k}).all()
    return [TeamOption(id=r[0], code=r[1], name=r[2], type=r[3], status=r[4], members=r[5], video_online=r[6],
                       lon=r[7], lat=r[8], distance_m=float(r[9]), eta_min=travel.eta_minutes(float(r[9])))
            for r in rows]


def sites_within(session: Session, *, lon: float, lat: float, reach_m: float, district_code: str | None,
                 travel: TravelParams = TravelParams()) -> list[SiteOption]:
    """Resource sites within `reach_m` (geodesic), nearest first, each with its stock lines."""
    rows = session.execute(text(f"""
        SELECT s.id, s.code, s.name, s.kind, ST_X(s.geom), ST_Y(s.geom),
               ST_Distance(s.geom::geography, {_PT}::geography) AS d
        FROM resource_site s
        WHERE s.geom IS NOT NULL AND ST_DWithin(s.geom::geography, {_PT}::geography, :reach)
          AND (CAST(:district AS text) IS NULL OR s.district_code = :district)
        ORDER BY d, s.id"""), {"lon": lon, "lat": lat, "reach": reach_m, "district": district_code}).all()
    items = stock_lines(session, site_ids=[r[0] for r in rows])
    return [SiteOption(id=r[0], code=r[1], name=r[2], kind=r[3], lon=r[4], lat=r[5], distance_m=float(r[6]),
                       eta_min=travel.eta_minutes(float(r[6])), items=items.get(r[0], [])) for r in rows]


def stock_lines(session: Session, *, site_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Stock of each site: item, category, quantity, minimum and whether it is below the minimum."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in site_ids}
    if not site_ids:
        return out
    rows = session.execute(text("""SELECT site_id, item_code, item_name, category, unit, quantity, min_level
        FROM stock WHERE site_id = ANY(:ids) ORDER BY site_id, category, item_code"""), {"ids": site_ids}).all()
    for r in rows:
        out[r[0]].append({"item_code": r[1], "item_name": r[2], "category": r[3], "unit": r[4],
                          "quantity": float(r[5]), "min_level": float(r[6]), "below_min": r[5] < r[6]})
    return out


def nearest_fever_clinics(session: Session, *, lon: float, lat: float, k: int = 3,
                          travel: TravelParams = TravelParams()) -> list[dict[str, Any]]:
    """The k nearest institutions with a fever clinic (any district: people cross borders)."""
    rows = session.execute(text(f"""
        SELECT i.id, i.code, i.name, i.district_code, ST_X(i.geom), ST_Y(i.geom),
               ST_Distance(i.geom::geography, {_PT}::geography) AS d
        FROM institution i WHERE i.fever_clinic AND i.geom IS NOT NULL ORDER BY d, i.id LIMIT :k"""),
        {"lon": lon, "lat": lat, "k": k}).all()
    return [{"id": r[0], "code": r[1], "name": r[2], "district_code": r[3], "lon": r[4], "lat": r[5],
             "distance_m": float(r[6]), "eta_min": travel.eta_minutes(float(r[6]))} for r in rows]


def buffer_population(session: Session, *, lon: float, lat: float, radii_m: list[float]) -> list[dict[str, Any]]:
    """Residents inside each buffer: leaf-region population weighted by the share of its area inside."""
    rows = session.execute(text(f"""
        WITH b AS (
            SELECT r AS radius, ST_Buffer({_PT}::geography, r, 'quad_segs=16')::geometry AS g
            FROM unnest(CAST(:radii AS float8[])) AS r),
        leaf AS ({LEAF_REGIONS})
        SELECT b.radius, COALESCE(SUM(l.population * ST_Area(ST_Intersection(l.geom, b.g)::geography)
                                      / NULLIF(ST_Area(l.geom::geography), 0)), 0),
               ST_Area(b.g::geography), ST_AsGeoJSON(b.g, 6)
        FROM b LEFT JOIN leaf l ON ST_Intersects(l.geom, b.g)
        GROUP BY b.radius, b.g ORDER BY b.radius"""), {"lon": lon, "lat": lat, "radii": sorted(set(radii_m))}).all()
    return [{"radius_m": float(r[0]), "population": round(float(r[1])), "area_km2": float(r[2]) / 1e6,
             "geometry": json.loads(r[3])} for r in rows]


def area_population(session: Session, *, incident_id: int) -> int | None:
    """Residents inside the incident's affected area (None when it has no area)."""
    value = session.execute(text(f"""
        WITH a AS (SELECT area AS g FROM incident WHERE id = :id AND area IS NOT NULL), leaf AS ({LEAF_REGIONS})
        SELECT SUM(l.population * ST_Area(ST_Intersection(l.geom, a.g)::geography)
                   / NULLIF(ST_Area(l.geom::geography), 0))
        FROM a LEFT JOIN leaf l ON ST_Intersects(l.geom, a.g) GROUP BY a.g"""), {"id": incident_id}).first()
    return None if value is None else round(float(value[0] or 0))


def decide(session: Session, *, lon: float, lat: float, district_code: str | None, k: int = 5,
           radii_m: list[float], reach_m: float, travel: TravelParams,
           team_types: tuple[str, ...] | None = None, incident_id: int | None = None) -> dict[str, Any]:
    """Everything the commander needs for one point, as plain data."""
    return {
        "point": {"lon": lon, "lat": lat},
        "incident_id": incident_id,
        "travel": asdict(travel),
        "teams": [asdict(t) for t in nearest_teams(session, lon=lon, lat=lat, k=k, district_code=district_code,
                                                   types=team_types, travel=travel)],
        "sites": [asdict(s) for s in sites_within(session, lon=lon, lat=lat, reach_m=reach_m,
                                                  district_code=district_code, travel=travel)],
        "fever_clinics": nearest_fever_clinics(session, lon=lon, lat=lat, travel=travel),
        "buffers": buffer_population(session, lon=lon, lat=lat, radii_m=radii_m),
        "area_population": area_population(session, incident_id=incident_id) if incident_id else None,
    }
