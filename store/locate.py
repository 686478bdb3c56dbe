"""Where records lie: points to street and district (point-in-polygon), region codes to their district."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.srid import SRID

_LOCATE = text(f"""
    SELECT p.i,
      (SELECT r.code FROM region r WHERE r.level = 'street' AND ST_Contains(r.geom, p.g) LIMIT 1) AS street,
      (SELECT r.code FROM region r WHERE r.level = 'district' AND ST_Contains(r.geom, p.g) LIMIT 1) AS district
    FROM (SELECT i, ST_SetSRID(ST_MakePoint(x, y), {SRID}) AS g
          FROM unnest(CAST(:i AS int[]), CAST(:x AS float8[]), CAST(:y AS float8[])) AS t(i, x, y)) AS p
""")


@dataclass(frozen=True)
class Spot:
    """Where a point lies: its street (if the street polygons cover it) and its district."""

    street: str | None
    district: str | None


def locate_points(session: Session, points: Sequence[tuple[int, float, float]]) -> dict[int, Spot]:
    """Street and district of each (key, lon, lat) in WGS84, by point-in-polygon."""
    if not points:
        return {}
    rows = session.execute(_LOCATE, {"i": [p[0] for p in points], "x": [p[1] for p in points],
                                     "y": [p[2] for p in points]})
    out = {}
    for r in rows:
        district = r.district or (r.street[:6] if r.street else None)
        out[r.i] = Spot(r.street, district)
    return out


@dataclass(frozen=True)
class RegionRef:
    code: str
    level: str
    district_code: str
    name: str


def regions_by_code(session: Session, codes: Iterable[str]) -> dict[str, RegionRef]:
    """Regions (district, street, grid) by code, with their district."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(text("SELECT code, level, COALESCE(district_code, left(code, 6)) AS district, name "
                                "FROM region WHERE code = ANY(:c)"), {"c": wanted})
    return {r.code: RegionRef(r.code, r.level, r.district, r.name) for r in rows}
