"""Vector tiles of the map layers: `GET /api/v1/tiles/<layer>/<z>/<x>/<y>.mvt` (layers/tiles.py).

The same query parameters as `/api/v1/layers/<id>` (parse_filters), the same scope check (403, audited),
answers shared per data version through the answer cache with an ETag (304 on If-None-Match).
Case tiles are audited as case reads, but once per (user, filters, address) and audit window for the
whole tile pyramid: the tile address is not part of what is audited, so a map that loads 30 tiles on
every pan leaves one row per window, not one per tile.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request

from dashboard.answer_cache import reads_layer
from dashboard.api import bp
from dashboard.api.layers import CASE_LAYERS, cached_json, parse_filters, run_scoped
from dashboard.api.requests import caller
from dashboard.audit_trail import audit_read
from dashboard.auth import require_principal
from layers.base import LayerFilters
from layers.tiles import MEDIA_TYPE, TILE_LAYERS, parse_tile_address, render_tile, tile_layer


def tile_url_template(layer_id: str, filters: LayerFilters) -> str:
    """`/api/v1/tiles/<layer>/{z}/{x}/{y}.mvt?<filters>` for a Leaflet tile layer: the page's filters as query parameters."""
    args = {k: ",".join(map(str, v)) if isinstance(v, list) else v
            for k, v in filters.model_dump(mode="json", exclude_defaults=True).items()}
    query = urlencode(sorted(args.items()))
    return f"/api/v1/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{query}" if query else "")


def tile_question(layer_id: str, z: int, x: int, y: int, filters: LayerFilters) -> str:
    """The answer-cache question of one tile: it reads what layer `layer_id` reads (the cache adds scope, versions)."""
    return reads_layer(f"tile:{layer_id}/{z}/{x}/{y}?{filters.model_dump_json()}", layer_id, filters)


# z, x, y are taken as text so that a negative or malformed one is our 422 naming it, not the router's 404
@bp.get("/tiles/<layer_id>/<z>/<x>/<y>.mvt")
@require_principal()
def layer_tile(layer_id: str, z: str, x: str, y: str) -> Response:
    tile_layer(layer_id)  # 404 tile.layer_not_found before anything else is read
    tile = parse_tile_address(z, x, y)  # 422 naming z, x or y
    filters = parse_filters(request.args)
    resp = cached_json(tile_question(layer_id, tile.z, tile.x, tile.y, filters),
                       lambda: run_scoped(render_tile, layer_id, filters, tile), mimetype=MEDIA_TYPE)
    if layer_id in CASE_LAYERS:
        audit_read(caller(), "case.read", object_type="tiles", object_id=layer_id,
                   filters=filters.model_dump(mode="json", exclude_defaults=True))
    return resp


def _register_docs() -> None:
    from dashboard.api.shapes import LayerQuery
    from dashboard.openapi import register_operation

    layers = "、".join(TILE_LAYERS)
    register_operation(
        "/api/v1/tiles/<layer_id>/<int:z>/<int:x>/<int:y>.mvt", "get", "图层矢量瓦片（Mapbox Vector Tile）",
        tags=("layers 图层",), query_model=LayerQuery, also={304: ()},
        response_content={MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        description=f"图层：{layers}。z 0–22，x、y 0–2^z−1（Web Mercator / XYZ）。筛选参数与 /api/v1/layers/<id> 相同，"
                    "范围与位置精度相同（无个人信息权限的账号得到 200 米网格中心点）。ETag / If-None-Match: 304。"
                    "Layers cases (points) and incidence (polygons with code, name, level, cases, population, rate).")


_register_docs()
