"""Typed GeoJSON (RFC 7946) as plain dicts: the one place that spells out Features and FeatureCollections.

Layers answer thousands of features per request, so these are TypedDicts (checked by mypy, free at run time)
rather than validating models. A FeatureCollection may carry the foreign members our layers add (legend,
period, totals …); they are declared in `ForeignMembers` so a misspelt one fails the type check.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal, NotRequired, TypedDict, Unpack

# Geometry objects stay open dicts: PostGIS's ST_AsGeoJSON and shapely's `mapping` produce them.
Geometry = dict[str, Any]
Position = list[float]


class Feature(TypedDict):
    type: Literal["Feature"]
    geometry: Geometry | None
    properties: dict[str, Any]
    id: NotRequired[str | int]


class ForeignMembers(TypedDict, total=False):
    """Members a layer adds beside `features` (RFC 7946 §6.1)."""

    title: str
    period: list[str]
    since: str
    until: str
    legend: list[dict[str, Any]]
    unit: str
    unplaced: int
    truncated: bool
    area: dict[str, Any]
    level: str
    level_zh: str
    breaks: list[float]
    method: str
    totals: dict[str, Any]
    service_area: Geometry | None
    radius_m: float
    clinics: int
    population: int
    outside: int


class FeatureCollection(ForeignMembers):
    type: Literal["FeatureCollection"]
    features: list[Feature]


def point(lon: float, lat: float, ndigits: int | None = 6) -> Geometry:
    """A Point geometry, coordinates rounded to `ndigits` decimals (6 ≈ 0.1 m) unless None."""
    if ndigits is None:
        return {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Point", "coordinates": [round(lon, ndigits), round(lat, ndigits)]}


def line(coordinates: list[Position]) -> Geometry:
    return {"type": "LineString", "coordinates": coordinates}


def parsed(geometry_json: str) -> Geometry:
    """A geometry from PostGIS's ST_AsGeoJSON text."""
    geometry: Geometry = json.loads(geometry_json)
    return geometry


def feature(geometry: Geometry | None, properties: dict[str, Any], id: str | int | None = None) -> Feature:
    """A Feature; `id` is left out when None (RFC 7946 §3.2)."""
    out: Feature = {"type": "Feature", "geometry": geometry, "properties": properties}
    if id is not None:
        out["id"] = id
    return out


def feature_collection(features: list[Feature], **members: Unpack[ForeignMembers]) -> FeatureCollection:
    """A FeatureCollection with the foreign members given."""
    return {"type": "FeatureCollection", "features": features, **members}


# The one JSON form of every answer: compact UTF-8, as dashboard.answer_cache.dumps writes it.
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def collection_json(features_json: str, **members: Unpack[ForeignMembers]) -> bytes:
    """The compact JSON of `feature_collection(features, **members)`, given the features already as the compact
    JSON of each, comma-separated (e.g. aggregated by PostgreSQL): the same bytes, without parsing them."""
    tail = COMPACT.encode(members)[1:-1] if members else ""
    return ('{"type":"FeatureCollection","features":[' + features_json + "]"
            + ("," + tail if tail else "") + "}").encode()


def feature_json(geometry_json: str, properties: dict[str, Any], id: str | int | None = None) -> str:
    """The compact JSON of `feature(geometry, properties, id)`, given the geometry's compact JSON."""
    head = '{"type":"Feature","geometry":' + geometry_json + ',"properties":' + COMPACT.encode(properties)
    return head + ("}" if id is None else ',"id":' + COMPACT.encode(id) + "}")


@lru_cache(maxsize=8192)
def compact_geometry(geometry_json: str) -> str:
    """The compact JSON of `parsed(geometry_json)` (PostGIS's ST_AsGeoJSON text), remembered by that text: the
    polygons of a choropleth are the same from one answer to the next, so they are parsed and written once."""
    return COMPACT.encode(parsed(geometry_json))
