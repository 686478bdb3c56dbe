"""The query string of an OGC API – Features items request (limit, offset, bbox, datetime, area filters).

Flask-free: `parse_items_query` turns the query arguments into LayerFilters (the layer's own area,
disease and date filters, so the whole layer is computed once and shared through the answer cache),
a bbox (CRS84, applied to the computed features) and the page (limit, offset). Every refusal is an
`OgcQueryError` naming the parameter; the web shell answers it 400 as OGC API – Features requires.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from core.errors import DomainError
from geo.dates import CST, FLOOR_DAY, QUERY, check, now_utc
from layers.base import MAX_PERIOD_DAYS, REGION_ALIASES, LayerFilters, fold_region_aliases

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_ALIASES = frozenset({CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84", "CRS84"})
DEFAULT_LIMIT, MAX_LIMIT = 100, 10000
PAGE_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"})
# The layer filters an items request may also give (as on /api/v1/layers/<id>); since/until come from `datetime`.
LAYER_PARAMS = frozenset({"region", "disease", "level", *REGION_ALIASES})
FORMATS = frozenset({"json", "geojson"})

BBox = tuple[float, float, float, float]  # west, south, east, north (west > east: crosses the antimeridian)


class OgcQueryError(DomainError):
    """A bad OGC request parameter (answered 400 by the web shell)."""

    def __init__(self, field: str, code: str, message: str, message_zh: str) -> None:
        super().__init__("invalid", code, message, message_zh, field)


@dataclass(frozen=True)
class ItemsQuery:
    """A parsed items request: what to compute (filters), which of it to keep (bbox) and the page."""

    filters: LayerFilters
    bbox: BBox | None
    limit: int
    offset: int


def check_format(args: Mapping[str, str]) -> None:
    """`f` may only ask for JSON (GeoJSON for items)."""
    value = args.get("f")
    if value not in (None, "") and value not in FORMATS:
        raise OgcQueryError("f", "ogc.format_unsupported", f"unsupported format {value!r}: only f=json",
                            f"不支持的格式 {value}：仅支持 f=json")


def parse_items_query(args: Mapping[str, str], *, dated: bool) -> ItemsQuery:
    """The items request for a layer; `dated` says whether the layer has a date filter for `datetime`."""
    unknown = sorted(set(args) - PAGE_PARAMS - LAYER_PARAMS)
    if unknown:
        raise OgcQueryError(unknown[0], "ogc.parameter_unknown", f"unknown query parameter {unknown[0]}",
                            f"不支持的查询参数 {unknown[0]}")
    check_format(args)
    for name in ("crs", "bbox-crs"):
        if args.get(name) not in (None, "") and args[name] not in CRS84_ALIASES:
            raise OgcQueryError(name, "ogc.crs_unsupported", f"{name} must be {CRS84}",
                                f"{name} 仅支持 {CRS84}（经纬度 WGS84）")
    since, until = parse_datetime(args["datetime"]) if args.get("datetime") else (None, None)
    layer_args: dict[str, object] = {k: v for k, v in args.items() if k in LAYER_PARAMS}
    if dated:
        layer_args.update(since=since, until=until)
    filters = _filters(layer_args)
    bbox = parse_bbox(args["bbox"]) if args.get("bbox") else None
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    return ItemsQuery(filters, bbox, limit, _integer(args, "offset", 0, 0, 10**9))


# What each layer filter must be, for a refusal naming it (English, Chinese); pydantic's wording is not shown.
_FILTER_RULES = {
    "region": ("region must be a 6/9/12-digit region code, h3:<cell> or inst:<id>",
               "region 应为 6/9/12 位区划代码、h3:<网格> 或 inst:<机构编号>"),
    "disease": ("disease must be at most 50 comma-separated disease codes (letters, digits, _ . -)",
                "disease 应为逗号分隔的疾病代码（最多 50 个，由字母、数字、_ . - 组成）"),
    "level": ("level must be district, street or grid", "level 应为 district、street 或 grid"),
    "datetime": ("datetime must be an interval of at most 3 years, start not after end",
                 "datetime 时间段不能超过 3 年，且开始不晚于结束"),
}


def _filters(layer_args: dict[str, Any]) -> LayerFilters:
    folded = fold_region_aliases(layer_args)  # LayerError (a DomainError) naming the alias
    try:
        return LayerFilters.model_validate(folded)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        field = str(err["loc"][0]) if err["loc"] else "datetime"  # the model's own check: the period
        field = "datetime" if field in ("since", "until") else field  # the period comes from `datetime`
        message, zh = _FILTER_RULES.get(field, (f"{field} is not valid", f"{field} 不合法"))
        raise OgcQueryError(field, f"ogc.{field}_invalid", message, zh) from None


def _integer(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    value = int(raw) if raw.isdigit() and len(raw) <= 10 else None  # isdigit: no sign, no spaces
    if value is None or not low <= value <= high:
        raise OgcQueryError(name, f"ogc.{name}_invalid", f"{name} must be an integer from {low} to {high}",
                            f"{name} 应为 {low} 至 {high} 之间的整数")
    return value


_BBOX_3D_ORDER = ("; 6 numbers are minLon,minLat,minHeight,maxLon,maxLat,maxHeight",
                  "；6 个数的顺序为 最小经度,最小纬度,最小高度,最大经度,最大纬度,最大高度")


def parse_bbox(raw: str) -> BBox:
    """`minx,miny,maxx,maxy` in CRS84, or the 3D form `minx,miny,minz,maxx,maxy,maxz` (the heights are ignored:
    the layers are 2D, so a 3D box selects what its footprint does)."""
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise OgcQueryError("bbox", "ogc.bbox_invalid",
                            "bbox must be 4 numbers (minLon,minLat,maxLon,maxLat) or 6 with heights "
                            "(minLon,minLat,minHeight,maxLon,maxLat,maxHeight; heights are ignored: 2D only)",
                            "bbox 应为 4 个数（最小经度,最小纬度,最大经度,最大纬度），或含高度的 6 个数"
                            "（最小经度,最小纬度,最小高度,最大经度,最大纬度,最大高度；仅按平面范围筛选，高度忽略）")
    w, s, e, n = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        hint, hint_zh = _BBOX_3D_ORDER if len(numbers) == 6 else ("", "")
        raise OgcQueryError("bbox", "ogc.bbox_invalid",
                            "bbox must have longitudes in [-180, 180] and latitudes -90 ≤ minLat ≤ maxLat ≤ 90" + hint,
                            "bbox 经度应在 -180 至 180 之间，纬度 -90 ≤ 最小纬度 ≤ 最大纬度 ≤ 90" + hint_zh)
    return w, s, e, n


def parse_datetime(raw: str) -> tuple[date, date]:
    """An RFC 3339 instant or interval (`..` or empty = open) → the inclusive days (China Standard Time).

    Layers filter by day: an instant selects its day, a closed interval the days it touches. An open
    start reaches back as far as a layer may look (3 years before the end); an open end is today.
    """
    ends = raw.split("/")
    if len(ends) > 2:
        raise _datetime_format()
    if len(ends) == 1:
        day = _day(ends[0])
        return day, day
    start = None if ends[0] in ("", "..") else _day(ends[0])
    end = None if ends[1] in ("", "..") else _day(ends[1])
    today = now_utc().astimezone(CST).date()
    if end is None:
        end = max(start, today) if start is not None else today
    if start is None:
        start = max(FLOOR_DAY, end - timedelta(days=MAX_PERIOD_DAYS))
    return _check_period(start, end)


def _check_period(start: date, end: date) -> tuple[date, date]:
    if start > end:
        raise OgcQueryError("datetime", "ogc.datetime_invalid", "datetime: the start must not be after the end",
                            "datetime 的开始时间不能晚于结束时间")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise OgcQueryError("datetime", "ogc.datetime_too_long", "datetime: the interval must not exceed 3 years",
                            "datetime 时间段不能超过 3 年")
    return start, end


def _day(raw: str) -> date:
    """One instant: a date (YYYY-MM-DD) or an RFC 3339 date-time (naive = Beijing time)."""
    try:
        value: date = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
    except ValueError:
        raise _datetime_format() from None
    if not isinstance(value, datetime):
        check(value, QUERY, "datetime")
        return value
    if "T" not in raw.upper():
        raise _datetime_format()
    aware = value if value.tzinfo is not None else value.replace(tzinfo=CST)
    check(aware, QUERY, "datetime")  # compares without converting, so year 1 / 9999 cannot overflow
    return aware.astimezone(CST).date()


def _datetime_format() -> OgcQueryError:
    return OgcQueryError("datetime", "ogc.datetime_invalid",
                         "datetime must be an RFC 3339 instant or interval (start/end, '..' for open)",
                         "datetime 应为 RFC 3339 时间点或时间段（起/止，开放端用 ..）")
