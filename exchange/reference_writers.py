"""Write one reference record the city sent down: check it against what the district holds, then upsert it.

Each writer answers 'created' or 'updated', or raises Refusal naming the field; the caller runs it in a
savepoint, so a refused record leaves nothing behind. Geometry, population and an institution's point
that a record leaves out keep what the district holds.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from exchange.reference_schema import REFERENCE_ZH, DiseaseIn, InstitutionIn, RegionIn, Versioned
from geo.crs import to_wgs84
from geo.srid import SRID
from store.cases import Disease
from store.places import Institution, Region
from store.records import FieldError, field_error

SOURCE = "city platform (exchange)"


class Refusal(Exception):
    """A record the district cannot take as it is: the field and the reason."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.error: FieldError = field_error(field, code, message, REFERENCE_ZH)


def _exists(session: Session, model: Any, code: str) -> bool:
    return session.scalar(select(model.code).where(model.code == code)) is not None


# --- regions -------------------------------------------------------------------------------------

def land_region(session: Session, rec: RegionIn) -> str:
    """Insert or update a region; a new one needs its geometry, every one its parent already held."""
    existed = _exists(session, Region, rec.code)
    if rec.parent_code is not None and not _exists(session, Region, rec.parent_code):
        raise Refusal("parent_code", "ref.unknown_parent", f"parent region {rec.parent_code} is not held")
    if not existed and rec.geometry is None:
        raise Refusal("geometry", "ref.geometry_required", f"new region {rec.code} needs its geometry")
    values = _region_values(rec)
    if existed:
        session.execute(update(Region).where(Region.code == rec.code).values(**values))
    else:
        session.execute(insert(Region).values(code=rec.code, **values))
    return "updated" if existed else "created"


def _region_values(rec: RegionIn) -> dict[str, Any]:
    values: dict[str, Any] = {"name": rec.name, "name_en": rec.name_en, "level": rec.level,
                              "parent_code": rec.parent_code, "district_code": rec.district_code, "source": SOURCE,
                              "updated_at": func.now()}
    if rec.population is not None:
        values.update(population=rec.population, population_source="city_registry")
    if rec.geometry is not None:
        geom = func.ST_Multi(func.ST_SetSRID(func.ST_GeomFromGeoJSON(json.dumps(
            rec.geometry.multipolygon().__geo_interface__)), SRID))
        values.update(geom=geom, label_point=func.ST_PointOnSurface(geom), geometry_is_demo=False)
    return values


# --- institutions --------------------------------------------------------------------------------

def land_institution(session: Session, rec: InstitutionIn) -> str:
    """Insert or update an institution (by code) of a district held, its point inside that district."""
    if session.scalar(select(Region.code).where(Region.code == rec.district_code, Region.level == "district")) is None:
        raise Refusal("district_code", "ref.unknown_district", f"district {rec.district_code} is not held")
    if rec.region_code is not None and not _exists(session, Region, rec.region_code):
        raise Refusal("region_code", "ref.unknown_region", f"region {rec.region_code} is not held")
    values = _institution_values(rec)
    if "geom" in values and not _inside(session, rec.district_code, values["geom"]):
        raise Refusal("lon", "geo.outside_district", f"the point lies outside district {rec.district_code}")
    existed = _exists(session, Institution, rec.code)
    if existed:
        session.execute(update(Institution).where(Institution.code == rec.code).values(**values))
    else:
        session.execute(insert(Institution).values(code=rec.code, **values))
    return "updated" if existed else "created"


def _institution_values(rec: InstitutionIn) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": rec.name, "kind": rec.type, "level": rec.level, "district_code": rec.district_code,
        "region_code": rec.region_code, "fever_clinic": rec.fever_clinic, "intestinal_clinic": rec.intestinal_clinic,
        "is_lab": rec.is_lab, "vaccination_clinic": rec.vaccination_clinic, "sentinel_types": rec.sentinel_types,
        "source": SOURCE}
    if rec.lon is not None and rec.lat is not None:
        lon, lat = to_wgs84([rec.lon], [rec.lat], rec.crs)
        values.update(geom=f"SRID={SRID};POINT({float(lon[0]):.7f} {float(lat[0]):.7f})", position_is_demo=False,
                      input_crs=rec.crs)
    return values


def _inside(session: Session, district_code: str, ewkt: str) -> bool:
    return bool(session.scalar(text("SELECT ST_Covers(geom, ST_GeomFromEWKT(:p)) FROM region WHERE code = :d"),
                               {"p": ewkt, "d": district_code}))


# --- diseases ------------------------------------------------------------------------------------

def land_disease(session: Session, rec: DiseaseIn) -> str:
    """Insert or update an entry of the disease list; an English name left out keeps the one held."""
    existed = _exists(session, Disease, rec.code)
    values: dict[str, Any] = {"name": rec.name, "klass": rec.klass, "category": rec.category,
                              "single_case": rec.single_case}
    if rec.name_en is not None or not existed:
        values["name_en"] = rec.name_en or rec.name
    if existed:
        session.execute(update(Disease).where(Disease.code == rec.code).values(**values))
    else:
        session.execute(insert(Disease).values(code=rec.code, **values))
    return "updated" if existed else "created"


WRITERS: dict[str, Callable[[Session, Any], str]] = {
    "region": land_region, "institution": land_institution, "disease": land_disease}


def write(session: Session, record_type: str, rec: Versioned) -> str:
    """Land `rec` of `record_type`: 'created' or 'updated', or Refusal."""
    return WRITERS[record_type](session, rec)
