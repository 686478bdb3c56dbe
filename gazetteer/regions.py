"""Load region polygons (district / street / grid) from a file, all-or-nothing."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import explain_validity
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gazetteer.errors import ImportRejected, RowProblem
from gazetteer.reading import read_vector, require_columns
from geo.srid import SRID
from store.places import REGION_LEVELS, Region

# Sanity box around Shanghai (with margin): catches swapped lon/lat and wrong CRS.
SHANGHAI_BOX = shapely.box(120.5, 30.4, 122.5, 32.0)


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    geom: MultiPolygon
    parent_code: str | None
    population: int | None


def _as_multi(geom: Polygon | MultiPolygon) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _check_row(i: int, row: pd.Series, level: str, code_field: str, name_field: str,
               population_field: str | None) -> tuple[RegionRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    geom = row.geometry
    code = str(row[code_field]).strip() if row[code_field] is not None else ""
    name = str(row[name_field]).strip() if row[name_field] is not None else ""
    if not code:
        problems.append(RowProblem(i, code_field, "value.missing", "code is empty"))
    if not name:
        problems.append(RowProblem(i, name_field, "value.missing", "name is empty"))
    if geom is None or geom.is_empty:
        problems.append(RowProblem(i, "geometry", "geometry.missing", "no geometry"))
    elif not isinstance(geom, (Polygon, MultiPolygon)):
        problems.append(RowProblem(i, "geometry", "geometry.not_polygon", f"{geom.geom_type} is not a polygon"))
    elif not geom.is_valid:
        problems.append(RowProblem(i, "geometry", "geometry.invalid", explain_validity(geom)))
    elif not SHANGHAI_BOX.contains(geom):
        problems.append(RowProblem(i, "geometry", "geometry.outside_area",
                                   "geometry lies outside Shanghai (wrong CRS or swapped lon/lat?)"))
    population = None
    if population_field:
        raw = str(row[population_field]).strip()
        if raw and not raw.isdigit():
            problems.append(RowProblem(i, population_field, "value.not_integer", f"population {raw!r} is not an integer"))
        population = int(raw) if raw.isdigit() else None
    if problems:
        return None, problems
    return RegionRow(code, name, level, _as_multi(geom), None, population), []


def read_regions(path: Path, *, level: str, crs: str | None = None, code_field: str = "code",
                 name_field: str = "name", population_field: str | None = None) -> list[RegionRow]:
    """Read and validate every row; raise ImportRejected listing all problems."""
    if level not in REGION_LEVELS:
        raise ImportRejected([RowProblem(None, "level", "level.unknown", f"level must be one of {REGION_LEVELS}")])
    gdf: gpd.GeoDataFrame = read_vector(path, crs)
    require_columns(gdf, [code_field, name_field] + ([population_field] if population_field else []))
    rows: list[RegionRow] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for i, (_, row) in enumerate(gdf.iterrows(), start=1):
        region, found = _check_row(i, row, level, code_field, name_field, population_field)
        problems += found
        if region and region.code in seen:
            problems.append(RowProblem(i, code_field, "value.duplicate", f"code {region.code} appears twice"))
        elif region:
            seen.add(region.code)
            rows.append(region)
    if problems:
        raise ImportRejected(problems)
    return rows


def _parent_for(session: Session, geom: MultiPolygon, level: str) -> str | None:
    """The region one level up that contains the row's interior point."""
    parent_level = {"district": "city", "street": "district", "grid": "street"}.get(level)
    if parent_level is None:
        return None
    point = geom.representative_point()
    return session.scalar(
        select(Region.code).where(
            Region.level == parent_level,
            func.ST_Contains(Region.geom, func.ST_SetSRID(func.ST_GeomFromText(point.wkt), SRID)),
        )
    )


def store_regions(session: Session, rows: list[RegionRow], *, source: str) -> int:
    """Upsert rows in the caller's transaction; a row with no parent region is rejected."""
    problems: list[RowProblem] = []
    values = []
    for i, row in enumerate(rows, start=1):
        parent = row.parent_code or _parent_for(session, row.geom, row.level)
        if row.level != "city" and parent is None:
            problems.append(RowProblem(i, "geometry", "geometry.no_parent",
                                       f"{row.code} lies in no known region one level up"))
            continue
        values.append(dict(
            code=row.code, name=row.name, level=row.level, parent_code=parent,
            district_code=(row.code[:6] if row.level == "district" else (parent or "")[:6]) or None,
            population=row.population, population_source="imported" if row.population is not None else None,
            geom=f"SRID={SRID};{row.geom.wkt}",
            label_point=f"SRID={SRID};{row.geom.representative_point().wkt}",
            geometry_is_demo=False, source=source,
        ))
    if problems:
        raise ImportRejected(problems)
    if values:
        stmt = insert(Region).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Region.code],
            set_={c: stmt.excluded[c] for c in ("name", "level", "parent_code", "district_code", "population",
                                                 "population_source", "geom", "label_point", "geometry_is_demo",
                                                 "source")},
        )
        session.execute(stmt)
    return len(values)
