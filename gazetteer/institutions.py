"""Load institutions (points with service flags) from CSV or vector files, all-or-nothing."""
from __future__ import annotations

from pathlib import Path

from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gazetteer.errors import ImportRejected, RowProblem
from gazetteer.reading import read_vector, require_columns
from geo.srid import SRID
from store.places import INSTITUTION_KINDS, Institution, Region

_FLAGS = ("fever_clinic", "intestinal_clinic", "is_lab", "vaccination_clinic")
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"", "0", "false", "no", "n", "否", "f"}


def _flag(i: int, field: str, raw: object, problems: list[RowProblem]) -> bool:
    text = str(raw if raw is not None else "").strip().lower()
    if text not in _TRUE | _FALSE:
        problems.append(RowProblem(i, field, "value.not_boolean", f"{text!r} is not yes/no"))
    return text in _TRUE


def _region_of(session: Session, point: Point) -> tuple[str, str | None] | None:
    """(region code, district code) of the smallest street or district containing the point."""
    row = session.execute(
        select(Region.code, Region.district_code)
        .where(Region.level.in_(("street", "district")),
               func.ST_Contains(Region.geom, func.ST_SetSRID(func.ST_Point(point.x, point.y), SRID)))
        .order_by(Region.level.desc())  # 'street' sorts after 'district'
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def import_institutions(session: Session, path: Path, *, crs: str | None = None) -> int:
    """Validate every row, then upsert all of them in the caller's transaction."""
    gdf = read_vector(path, crs)
    require_columns(gdf, ["code", "name", "kind"])
    problems: list[RowProblem] = []
    values = []
    for i, (_, row) in enumerate(gdf.iterrows(), start=1):
        found: list[RowProblem] = []
        code, name, kind = (str(row[c] or "").strip() for c in ("code", "name", "kind"))
        if not code:
            found.append(RowProblem(i, "code", "value.missing", "code is empty"))
        if not name:
            found.append(RowProblem(i, "name", "value.missing", "name is empty"))
        if kind not in INSTITUTION_KINDS:
            found.append(RowProblem(i, "kind", "value.unknown", f"kind {kind!r} not in {INSTITUTION_KINDS}"))
        flags = {f: _flag(i, f, row[f], found) if f in gdf.columns else False for f in _FLAGS}
        geom = row.geometry
        where = None
        if not isinstance(geom, Point) or geom.is_empty:
            found.append(RowProblem(i, "geometry", "geometry.not_point", "institution position must be a point"))
        else:
            where = _region_of(session, geom)
            if where is None:
                found.append(RowProblem(i, "geometry", "geometry.outside_area", "point lies in no known district"))
        problems += found
        if not found and where:
            sentinel = str(row["sentinel_types"]).split(";") if "sentinel_types" in gdf.columns else []
            values.append(dict(
                code=code, name=name, kind=kind, level=(str(row["level"]) if "level" in gdf.columns else None),
                region_code=where[0], district_code=where[1], geom=f"SRID={SRID};{geom.wkt}",
                sentinel_types=[s.strip() for s in sentinel if s.strip()], position_is_demo=False,
                input_crs=(crs or "WGS84"), source=f"import:{path.name}", **flags,
            ))
    if problems:
        raise ImportRejected(problems)
    stmt = insert(Institution).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Institution.code],
        set_={c: stmt.excluded[c] for c in values[0] if c != "code"} if values else {},
    )
    if values:
        session.execute(stmt)
    return len(values)
