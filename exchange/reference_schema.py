"""Reference data the city sends down (issue 19): one pydantic model per kind, and per-record outcomes.

Every record carries the city's `version` of it (a positive integer that grows with each change) and
`changed_at`, when the city changed it (the business time of the downward timeliness KPI). A record is
the whole state of its entry: fields left out take their defaults, except a region's geometry and
population and an institution's point, which keep what the district holds when absent.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from shapely.geometry import MultiPolygon, Polygon, shape

from accounts.principal import CITY_CODE
from geo.dates import RecordedDateTime
from geo.schemas import GeoPoint
from store.places import INSTITUTION_KINDS
from store.records import SHARED_ZH, Code, FieldError, Record, recorded_time, rule_error

# GB/T 2260 codes in Shanghai: 6 digits (the city, a district), 9 (a street), 12 (a community).
REGION_CODE = r"^31\d{4}(\d{3}(\d{3})?)?$"
DISTRICT_CODE = r"^31\d{4}$"
DISEASE_CODE = r"^[A-Za-z0-9_.\-]{1,20}$"
MAX_VERSION = 2**53
# kind in the URL → record type in the ledger
KINDS = {"regions": "region", "institutions": "institution", "diseases": "disease"}
STATUSES = ("created", "updated", "duplicate", "stale", "rejected")
# level → (code length, how the parent's code is made from the code)
REGION_LEVELS = {"city": 6, "district": 6, "street": 9, "community": 12}

REFERENCE_ZH: dict[str, str] = {
    **SHARED_ZH,
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false", "int_type": "应为整数",
    "string_type": "应为文本", "list_type": "应为数组", "too_long": "项数过多", "model_type": "应为对象",
    "level_mismatch": "区划级别与编码位数不符", "parent_mismatch": "上级区划编码与本级编码不符",
    "geometry_invalid": "边界几何无效（须为 WGS84 的 Polygon 或 MultiPolygon）",
    "region_outside_district": "区划不属于所属区", "ref.unknown_parent": "上级区划不存在",
    "ref.unknown_district": "所属区不存在", "ref.geometry_required": "新增区划须提供边界",
    "geo.outside_district": "坐标不在所属区范围内",
}


class Polygonal(BaseModel):
    """A GeoJSON Polygon or MultiPolygon in WGS84 (lon, lat), valid and inside China's extent."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> Polygonal:
        try:
            geom = shape(self.model_dump())
        except (ValueError, TypeError, IndexError, AttributeError):
            raise PydanticCustomError("geometry_invalid", "geometry is not a readable polygon") from None
        west, south, east, north = geom.bounds if not geom.is_empty else (math.nan,) * 4
        if geom.is_empty or not geom.is_valid or not (73 <= west <= east <= 136 and 3 <= south <= north <= 54):
            raise PydanticCustomError("geometry_invalid", "geometry must be a valid polygon in China (WGS84)")
        return self

    def multipolygon(self) -> MultiPolygon:
        geom = shape(self.model_dump())
        return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom] if isinstance(geom, Polygon) else [])


class Versioned(Record):
    """What every reference record carries: the city's version of it and when the city changed it."""

    version: int = Field(ge=1, le=MAX_VERSION)
    changed_at: RecordedDateTime

    @field_validator("changed_at")
    @classmethod
    def _changed(cls, value: datetime) -> datetime:
        return recorded_time(value, "changed_at lies in the future")

    @property
    def key(self) -> str:
        raise NotImplementedError


class RegionIn(Versioned):
    """An administrative area: the city, a district, a street or a community."""

    code: str = Field(pattern=REGION_CODE)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    level: Literal["city", "district", "street", "community"]
    parent_code: str | None = Field(default=None, pattern=REGION_CODE)
    population: int | None = Field(default=None, ge=0, le=100_000_000)
    geometry: Polygonal | None = None

    @model_validator(mode="after")
    def _hierarchy(self) -> RegionIn:
        if len(self.code) != REGION_LEVELS[self.level] or (self.level == "city") != (self.code == CITY_CODE):
            raise rule_error("level", "level_mismatch", f"level {self.level} does not fit code {self.code}")
        if self.parent_code != parent_of(self.code, self.level):
            raise rule_error("parent_code", "parent_mismatch", f"the parent of {self.code} is not {self.parent_code}")
        return self

    @property
    def key(self) -> str:
        return self.code

    @property
    def district_code(self) -> str | None:
        return None if self.level == "city" else self.code[:6]


def parent_of(code: str, level: str) -> str | None:
    """The code of the level above (GB/T 2260 codes nest: a street's code begins with its district's)."""
    return {"city": None, "district": CITY_CODE, "street": code[:6], "community": code[:9]}[level]


class InstitutionIn(Versioned, GeoPoint):
    """A hospital, community health centre, CDC, lab or clinic of the registry, with its service flags."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    type: Literal[INSTITUTION_KINDS]  # type: ignore[valid-type]  # runtime tuple, fine for pydantic
    level: str | None = Field(default=None, max_length=10)
    district_code: str = Field(pattern=DISTRICT_CODE)
    region_code: str | None = Field(default=None, pattern=REGION_CODE)
    fever_clinic: bool = False
    intestinal_clinic: bool = False
    is_lab: bool = False
    vaccination_clinic: bool = False
    sentinel_types: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _region(self) -> InstitutionIn:
        if self.region_code is not None and self.region_code[:6] != self.district_code:
            raise rule_error("region_code", "region_outside_district",
                             f"region {self.region_code} is not in district {self.district_code}")
        return self

    @field_validator("sentinel_types")
    @classmethod
    def _sentinels(cls, value: list[str]) -> list[str]:
        if any(not (1 <= len(v) <= 20 and v.replace("_", "").isalnum() and v.isascii()) for v in value):
            raise PydanticCustomError("string_pattern_mismatch", "sentinel types are short ASCII words")
        return sorted(set(value))

    @property
    def key(self) -> str:
        return self.code


class DiseaseIn(Versioned):
    """An entry of the notifiable disease list (class 甲, 乙, 丙, or 其他 for e.g. pneumonia of unknown cause)."""

    code: str = Field(pattern=DISEASE_CODE)
    name: str = Field(min_length=1, max_length=60)
    name_en: str | None = Field(default=None, min_length=1, max_length=80)
    klass: Literal["甲", "乙", "丙", "其他"] = Field(alias="class")
    category: str = Field(min_length=1, max_length=20, pattern=r"^[a-z_]+$")
    single_case: bool = False

    @property
    def key(self) -> str:
        return self.code


SCHEMAS: dict[str, type[Versioned]] = {"region": RegionIn, "institution": InstitutionIn, "disease": DiseaseIn}


class ReferenceOutcome(BaseModel):
    """What happened to one record (`index`: its position in the request)."""

    index: int
    status: Literal["created", "updated", "duplicate", "stale", "rejected"]
    key: str | None = None
    version: int | None = None
    errors: list[FieldError] = []


class ReferenceResult(BaseModel):
    """The outcome of every record of a batch, in request order (accepted: all but the rejected)."""

    kind: str
    accepted: int
    rejected: int
    results: list[ReferenceOutcome]


class ReferenceBatchIn(BaseModel):
    """The request body: at most 1000 records of the kind in the path."""

    records: list[Any] = Field(min_length=1, max_length=1000)
