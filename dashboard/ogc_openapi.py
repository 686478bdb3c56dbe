"""The OpenAPI 3.0 definition of /ogc (the `service-desc` of the OGC API – Features landing page).

Kept apart from /api/v1/openapi.json (3.1, generated from models): OGC clients (QGIS, ArcGIS, OWSLib)
read this one, e.g. the maximum of `limit`, and it lists every query parameter the items accept.
"""
from __future__ import annotations

from typing import Any

from layers.ogc_query import DEFAULT_LIMIT, MAX_LIMIT

_ERROR = {"description": "error: {error: {code, message, message_zh, field}}",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JSON = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
_GEOJSON = {"description": "OK", "content": {"application/geo+json": {"schema": {"type": "object"}}}}


def _param(name: str, schema: dict[str, Any], description: str, where: str = "query") -> dict[str, Any]:
    out = {"name": name, "in": where, "required": where == "path", "schema": schema, "description": description}
    if name == "bbox":
        out.update(style="form", explode=False)
    return out


_F = _param("f", {"type": "string", "enum": ["json"]}, "response format (JSON / GeoJSON only)")
_COLLECTION = _param("collectionId", {"type": "string"}, "layer id", "path")
_ITEMS_PARAMS = [
    _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
           "features per page"),
    _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip (the next link sets it)"),
    _param("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
           "minLon,minLat,maxLon,maxLat in CRS84: features whose geometry intersects it"),
    _param("bbox-crs", {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]}, "CRS84 only"),
    _param("crs", {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]}, "CRS84 only"),
    _param("datetime", {"type": "string"},
           "RFC 3339 instant or interval (start/end, '..' open) → the layer's period (days, Beijing time)"),
    _param("region", {"type": "string"}, "area: 6/9/12-digit region code, h3:<cell> or inst:<id>"),
    _param("district_code", {"type": "string"}, "area: district code"),
    _param("street", {"type": "string"}, "area: 9-digit street code"),
    _param("grid", {"type": "string"}, "area: grid code or h3:<cell>"),
    _param("institution", {"type": "string"}, "area: institution id"),
    _param("disease", {"type": "string"}, "comma-separated disease codes"),
    _param("level", {"type": "string", "enum": ["district", "street", "grid"]}, "choropleth level"),
    _F,
]


def _get(summary: str, params: list[dict[str, Any]], ok: dict[str, Any], op_id: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "operationId": op_id, "parameters": params,
                    "responses": {"200": ok, "400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR}}}


def openapi_document(base: str) -> dict[str, Any]:
    """The definition of every /ogc operation, with `base` (…/ogc) as the server."""
    feature_id = _param("featureId", {"type": "string"}, "the feature's id", "path")
    return {
        "openapi": "3.0.3",
        "info": {"title": "OneMap 一张图 OGC API – Features", "version": "1.0.0",
                 "description": "Map layers as OGC API – Features (Part 1: core, GeoJSON). Bearer token: "
                                "`onemap token create --user <name>`, header `Authorization: Bearer om_…`."},
        "servers": [{"url": base}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "message_zh": {"type": "string"},
                "field": {"type": "string"}}}}}},
        },
        "paths": {
            "/": _get("landing page", [_F], _JSON, "getLandingPage"),
            "/conformance": _get("conformance classes", [_F], _JSON, "getConformanceDeclaration"),
            "/api": _get("this API definition", [_F], _JSON, "getAPIDefinition"),
            "/collections": _get("the map layers in the caller's scope", [_F], _JSON, "getCollections"),
            "/collections/{collectionId}": _get("one layer's metadata", [_COLLECTION, _F], _JSON,
                                                "describeCollection"),
            "/collections/{collectionId}/items": _get("the layer's features, a page at a time",
                                                      [_COLLECTION, *_ITEMS_PARAMS], _GEOJSON, "getFeatures"),
            "/collections/{collectionId}/items/{featureId}": _get("one feature", [_COLLECTION, feature_id, _F],
                                                                  _GEOJSON, "getFeature"),
        },
    }
