"""What a map layer is: filters, the area being looked at, and the Layer record the registry holds."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from accounts.principal import CITY_CODE, Principal
from accounts.scope import ScopeError
from core.errors import KIND_OF_STATUS, DomainError
from geo.dates import CST, QueryDate
from geo.geojson import FeatureCollection
from store.places import Region

MAX_PERIOD_DAYS = 3 * 366 + 1
REGION_RE = re.compile(r"^(\d{6}|\d{9}|\d{12}|h3:[0-9a-f]{15}|inst:\d{1,9})$")
DISEASE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")
Level = Literal["district", "street", "grid"]


class LayerError(DomainError, ValueError):
    """A request a layer cannot answer: unknown layer/region (404) or a bad filter (422)."""

    def __init__(self, status: int, code: str, message: str, message_zh: str, field: str | None = None) -> None:
        super().__init__(KIND_OF_STATUS[status], code, message, message_zh, field)


def today_cst() -> date:
    """The current date in China Standard Time (the day the CDC works in)."""
    return datetime.now(CST).date()


class LayerFilters(BaseModel):
    """Filters every layer and indicator accepts (query parameters of /api/v1/layers/<id>)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (WGS84)
    since: QueryDate | None = None
    until: QueryDate | None = None
    disease: tuple[str, ...] = ()
    region: str | None = None  # region code, 'h3:…' grid cell or 'inst:<id>'
    level: Level | None = None
    limit: int = Field(default=20000, ge=1, le=100000)

    @field_validator("bbox", mode="before")
    @classmethod
    def _parse_bbox(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p for p in value.split(",")]
            if len(parts) != 4:
                raise ValueError("bbox must be 'west,south,east,north'")
            return tuple(float(p) for p in parts)
        return value

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, value: tuple[float, float, float, float] | None) -> Any:
        if value is None:
            return value
        w, s, e, n = value
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            raise ValueError("bbox must satisfy -180 ≤ west < east ≤ 180 and -90 ≤ south < north ≤ 90")
        return value

    @field_validator("disease", mode="before")
    @classmethod
    def _parse_disease(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        return tuple(sorted({str(v).strip() for v in value}))

    @field_validator("disease")
    @classmethod
    def _check_disease(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not DISEASE_RE.match(v)]
        if bad:
            raise ValueError(f"invalid disease code {bad[0]!r}")
        if len(value) > 50:
            raise ValueError("at most 50 diseases")
        return value

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str | None) -> str | None:
        if value is not None and not REGION_RE.match(value):
            raise ValueError("region must be a 6/9/12-digit region code, 'h3:<cell>' or 'inst:<id>'")
        return value

    @model_validator(mode="after")
    def _check_period(self) -> LayerFilters:
        if self.since and self.until:
            if self.since > self.until:
                raise PydanticCustomError("period_order", "since must not be after until",
                                          {"field": "until", "message_zh": "结束日期不能早于开始日期"})
            if (self.until - self.since).days > MAX_PERIOD_DAYS:
                raise PydanticCustomError("period_too_long", "period longer than 3 years",
                                          {"field": "until", "message_zh": "统计时段不能超过 3 年"})
        return self

    def period(self, default_days: int = 28) -> tuple[date, date]:
        """(since, until) inclusive, defaulting to the last `default_days` days up to today (CST)."""
        until = self.until or today_cst()
        since = self.since or (until - timedelta(days=default_days - 1))
        return since, until


# Other spellings of the area filter, each folded into `region` so that one scope check sees every form.
REGION_ALIASES: dict[str, tuple[re.Pattern[str], str]] = {
    "district_code": (re.compile(r"^\d{6}$"), "{}"),
    "street": (re.compile(r"^\d{9}$"), "{}"),
    "grid": (re.compile(r"^(\d{12}|h3:[0-9a-f]{15})$"), "{}"),
    "institution": (re.compile(r"^\d{1,9}$"), "inst:{}"),
}


def fold_region_aliases(args: dict[str, Any]) -> dict[str, Any]:
    """Query arguments with `district_code` / `street` / `grid` / `institution` turned into `region`.

    At most one area filter may be given; a malformed one is a 422 naming it.
    """
    given = [k for k in ("region", *REGION_ALIASES) if args.get(k) not in (None, "")]
    if len(given) > 1:
        raise LayerError(422, "filter.conflict", f"give only one of {', '.join(given)}",
                         f"区域筛选条件只能给一个：{'、'.join(given)}", given[1])
    out = {k: v for k, v in args.items() if k not in REGION_ALIASES}
    for name, (pattern, template) in REGION_ALIASES.items():
        value = args.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not pattern.match(value):
            raise LayerError(422, "filter.invalid", f"invalid {name}", f"筛选条件不合法：{name}", name)
        out["region"] = template.format(value)
    return out


def check_scope(session: Session, principal: Principal, filters: LayerFilters) -> Area | None:
    """THE scope check of every layer request: the filtered area must lie in the principal's scope.

    Raises ScopeError (403) for a region, street, grid cell or institution outside it; None when no
    area was asked for. Rows are limited in SQL by accounts.scope in each layer as well, so a bbox
    or a default area never reaches beyond the scope either.
    """
    if not filters.region:
        return None
    return resolve_area(session, principal, filters.region)


_CHILD_LEVEL: dict[str, Level] = {"city": "district", "district": "street", "street": "grid"}


def is_level(value: str | None) -> TypeGuard[Level]:
    return value in ("district", "street", "grid")


@dataclass(frozen=True)
class Area:
    """The place a screen looks at: the city, a district, a street, a grid cell or an institution."""

    kind: Literal["city", "district", "street", "grid", "institution"]
    code: str
    name: str
    district_code: str | None
    population: int | None = None
    institution_id: int | None = None
    trail: tuple[tuple[str, str], ...] = ()  # (code, name) from the top of the principal's scope down

    @property
    def child_level(self) -> Level | None:
        """The level of the choropleth shown inside this area."""
        return _CHILD_LEVEL.get(self.kind)


def home_region(principal: Principal) -> str:
    """The top of the principal's scope: the city, their district, or their institution."""
    if principal.role == "institution_user" and principal.institution_id is not None:
        return f"inst:{principal.institution_id}"
    return CITY_CODE if principal.is_city else str(principal.district_code)


def resolve_area(session: Session, principal: Principal, region: str | None) -> Area:
    """The Area for `region` (default: the principal's home), checked against the principal's scope."""
    code = region or home_region(principal)
    if code.startswith("inst:"):
        return _institution_area(session, principal, int(code[5:]))
    if code == CITY_CODE:
        if not principal.is_city or principal.role == "institution_user":
            raise ScopeError(f"{principal.username} may not see the whole city")
        return Area("city", CITY_CODE, "上海市", None, _city_population(session), trail=((CITY_CODE, "上海市"),))
    row = _region(session, code)
    if row is None or not is_level(row.level):
        raise LayerError(404, "region.not_found", f"unknown region {code}", "区域不存在", "region")
    if not principal.may_see_district(row.district_code):
        raise ScopeError(f"{principal.username} may not see region {code}")
    if principal.role == "institution_user":
        raise ScopeError("institution users see only their institution")
    return Area(row.level, row.code, row.name, row.district_code, row.population,
                trail=_trail(session, principal, row))


# The columns of a region an Area is made of (not its polygon): read as a plain row, not an ORM object.
_REGION_SQL = text("SELECT code, name, level, district_code, population, parent_code FROM region WHERE code = :code")
_INSTITUTION_SQL = text("SELECT id, name, district_code, region_code FROM institution WHERE id = :id")


def _region(session: Session, code: str) -> Row[Any] | None:
    return session.execute(_REGION_SQL, {"code": code}).first()


def _trail(session: Session, principal: Principal, row: Row[Any]) -> tuple[tuple[str, str], ...]:
    chain: list[tuple[str, str]] = []
    node: Row[Any] | None = row
    while node is not None and node.level != "city":
        chain.append((node.code, node.name))
        if node.level == "district":
            break
        node = _region(session, node.parent_code) if node.parent_code else None
    if principal.is_city:
        chain.append((CITY_CODE, "上海市"))
    return tuple(reversed(chain))


def _institution_area(session: Session, principal: Principal, institution_id: int) -> Area:
    inst = session.execute(_INSTITUTION_SQL, {"id": institution_id}).first()
    if inst is None:
        raise LayerError(404, "institution.not_found", f"unknown institution {institution_id}", "机构不存在", "region")
    if not principal.may_see_institution(inst.id, inst.district_code):
        raise ScopeError(f"{principal.username} may not see institution {institution_id}")
    parent = _region(session, inst.region_code) if inst.region_code else None
    trail = _trail(session, principal, parent) if parent is not None and principal.role != "institution_user" else ()
    return Area("institution", f"inst:{inst.id}", inst.name, inst.district_code, None, inst.id,
                trail=trail + ((f"inst:{inst.id}", inst.name),))


def _city_population(session: Session) -> int | None:
    from sqlalchemy import func

    total = session.scalar(select(func.sum(Region.population)).where(Region.level == "district"))
    return int(total) if total is not None else None




@dataclass(frozen=True)
class Layer:
    """One map layer: how to query it as GeoJSON and when its data last changed."""

    id: str
    title: str
    geometry_type: str  # Point | Polygon | MultiPolygon | Geometry
    query: Callable[[Session, Principal, LayerFilters], FeatureCollection]
    updated_at: Callable[[Session, Principal], datetime | None]
    crs: str = "EPSG:4326"
    group: str = "monitor"
    meta: dict[str, Any] = field(default_factory=dict)
    # The kinds of data it reads (store.topics), so that a cached answer outlives changes to other
    # data; None: it depends on every change.
    depends_on: tuple[str, ...] | None = None
    # The same answer as the compact JSON the API sends (geo.geojson.COMPACT of `query`'s), for a layer whose
    # answer is large and can be written as text by the database; None: the API serialises `query`'s.
    query_json: Callable[[Session, Principal, LayerFilters], bytes] | None = None

    def run(self, session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
        """The layer for `principal`: every caller (API, pages, wall) comes through the one scope check."""
        check_scope(session, principal, filters)
        return self.query(session, principal, filters)

    def run_json(self, session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection | bytes:
        """`run`, or its compact JSON when the layer writes that itself (the API's answer either way)."""
        if self.query_json is None:
            return self.run(session, principal, filters)
        check_scope(session, principal, filters)
        return self.query_json(session, principal, filters)

    def describe(self, session: Session, principal: Principal) -> dict[str, Any]:
        """The catalogue entry of this layer for `principal`."""
        stamp = self.updated_at(session, principal)
        return {"id": self.id, "title": self.title, "geometry_type": self.geometry_type, "crs": self.crs,
                "group": self.group, "updated_at": stamp.isoformat() if stamp else None, **self.meta}


