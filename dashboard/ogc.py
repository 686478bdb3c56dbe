"""OGC API – Features under /ogc: every map layer as a collection, for QGIS, ArcGIS and OWSLib.

Same callers, scopes and audit as /api/v1/layers: bearer token (or session), `Layer.run` through
`run_scoped` (scope refusal → audited 403), case layers' reads audited. A layer is computed whole once
per data version through the answer cache (the question /api/v1/layers/<id> asks with the same
filters) and pages are cut from it (layers.ogc.FeatureIndex). Bad parameters answer 400.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from accounts.principal import Principal
from core.errors import DomainError
from dashboard.answer_cache import dumps, layer_question, reads_layer
from dashboard.api.layers import CASE_LAYERS, run_scoped
from dashboard.api.requests import caller
from dashboard.audit_trail import audit_read
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import answers
from dashboard.ogc_openapi import openapi_document
from layers import ogc, ogc_cases
from layers.base import Layer
from layers.ogc_query import ItemsQuery, check_format, parse_items_query
from layers.registry import all_layers, get_layer

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
_indexes = ogc.IndexCache()


@bp.errorhandler(DomainError)
def _refused(exc: DomainError) -> Response:
    """OGC API – Features answers a bad parameter 400 (the REST API's 422)."""
    status = 400 if exc.kind == "invalid" else exc.status
    err = ApiError(status, exc.code, exc.message, exc.message_zh, exc.field)
    return _json(err.body(), status=status)


def _json(body: Any, mimetype: str = ogc.JSON, status: int = 200) -> Response:
    return Response(dumps(body), status=status, mimetype=mimetype)


def _base() -> str:
    return request.url_root.rstrip("/") + "/ogc"


def _layer(collection_id: str) -> Layer:
    layer = get_layer(collection_id)
    if layer is None:
        raise ApiError(404, "collection.not_found", f"unknown collection {collection_id}", "图层（集合）不存在",
                       "collectionId")
    return layer


@bp.get("", strict_slashes=False)
@require_principal()
def landing():
    check_format(request.args)
    return _json(ogc.landing(_base()))


@bp.get("/conformance")
@require_principal()
def conformance():
    check_format(request.args)
    return _json(ogc.conformance())


@bp.get("/api")
@require_principal()
def api_definition():
    check_format(request.args)
    return _json(openapi_document(_base()), mimetype=ogc.OPENAPI)


def _collection_docs(session: Any, principal: Principal, layers: list[Layer]) -> list[dict[str, Any]]:
    extent = ogc.scope_extent(session, principal)
    return [ogc.collection(layer, layer.describe(session, principal), _base(), extent) for layer in layers]


@bp.get("/collections")
@require_principal()
def collections():
    check_format(request.args)
    return _json(ogc.collections(run_scoped(_collection_docs, list(all_layers().values())), _base()))


@bp.get("/collections/<collection_id>")
@require_principal()
def collection(collection_id: str):
    check_format(request.args)
    return _json(run_scoped(_collection_docs, [_layer(collection_id)])[0])


def _index(layer: Layer, query: ItemsQuery) -> tuple[str, ogc.FeatureIndex]:
    """The whole layer for these filters, computed once per data version (the answer shared with
    /api/v1/layers/<id>) and indexed once per process; with the answer's ETag."""
    answer = answers().answer(layer_question(layer.id, query.filters), caller(),
                              lambda: run_scoped(layer.run, query.filters))
    return answer.etag, _indexes.index(answer.etag, lambda: answer.body)


def _audit(layer: Layer, query: ItemsQuery, feature_id: str | None = None) -> None:
    if layer.id in CASE_LAYERS:  # case records (points): who read which filters, from where
        filters: dict[str, Any] = query.filters.model_dump(mode="json", exclude_defaults=True)
        if query.bbox is not None:
            filters["bbox"] = list(query.bbox)
        audit_read(caller(), "case.read", object_type="layer", object_id=layer.id if feature_id is None
                   else f"{layer.id}/{feature_id}", filters=filters, detail={"via": "ogc"})


def _conditional(body: Any, etag: str) -> Response:
    """GeoJSON with its ETag (data version, scope, question) to revalidate: 304 when the client has it."""
    resp = Response(status=304) if etag in request.if_none_match else _json(body, mimetype=ogc.GEOJSON)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _page_etag(etag: str, query: ItemsQuery, feature_id: str = "") -> str:
    """The ETag of a page (or one feature) cut from the computed layer whose answer has ETag `etag`."""
    return hashlib.sha1(f"{etag}|{query.bbox}|{query.limit}|{query.offset}|{feature_id}".encode()).hexdigest()


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sql_page(layer: Layer, query: ItemsQuery) -> tuple[str, dict[str, Any]]:
    """One page of a collection paged in SQL (layers.ogc_cases), shared per data version; with its ETag."""
    question = reads_layer(f"ogc:{layer.id}?{query.filters.model_dump_json()}&bbox={query.bbox}"
                           f"&limit={query.limit}&offset={query.offset}", layer.id, query.filters)
    answer = answers().answer(question, caller(), lambda: run_scoped(ogc_cases.page_answer, query))
    return answer.etag, json.loads(answer.body)


@bp.get("/collections/<collection_id>/items")
@require_principal()
def items(collection_id: str):
    layer = _layer(collection_id)
    query = parse_items_query(request.args, dated=layer.id in ogc.DATED_LAYERS)
    if layer.id in ogc_cases.PAGED_COLLECTIONS:
        etag, page = _sql_page(layer, query)
        body = ogc.page_document(page["features"], page["numberMatched"], page["members"], query,
                                 request.base_url, request.args, _stamp())
    else:
        etag, index = _index(layer, query)
        body = ogc.items_page(index, _indexes.matching(etag, index, query.bbox), query, request.base_url,
                              request.args, _stamp())
        etag = _page_etag(etag, query)
    _audit(layer, query)
    return _conditional(body, etag)


def _one(layer: Layer, query: ItemsQuery, feature_id: str) -> tuple[str, Mapping[str, Any] | None]:
    """The feature `feature_id` of the layer for these filters (None when it shows none), with an ETag."""
    if layer.id not in ogc_cases.PAGED_COLLECTIONS:
        etag, index = _index(layer, query)
        return _page_etag(etag, query, feature_id), index.get(feature_id)
    question = reads_layer(f"ogc:{layer.id}/items/{feature_id}?{query.filters.model_dump_json()}", layer.id,
                           query.filters)
    answer = answers().answer(question, caller(),
                              lambda: run_scoped(ogc_cases.case_feature, query.filters, feature_id))
    return answer.etag, json.loads(answer.body)


@bp.get("/collections/<collection_id>/items/<feature_id>")
@require_principal()
def feature(collection_id: str, feature_id: str):
    layer = _layer(collection_id)
    # The same layer filters as the items (region, datetime …); a dated layer without `datetime` is looked
    # up over all it may show (3 years up to today), so an id from any page of any period is found.
    args = dict(request.args.items())
    dated = layer.id in ogc.DATED_LAYERS
    if dated and not args.get("datetime"):
        args["datetime"] = "../.."
    query = parse_items_query(args, dated=dated)
    etag, found = _one(layer, query, feature_id)
    if found is None:
        raise ApiError(404, "feature.not_found", f"no feature {feature_id} in {layer.id}", "要素不存在", "featureId")
    _audit(layer, query, feature_id)
    return _conditional(ogc.item_document(found, request.base_url), etag)


@bp.get("/<path:rest>")
@require_principal()
def not_found(rest: str):
    """Any other GET under /ogc: 404 JSON (Dash's page route `/<path:path>` would answer 200)."""
    raise ApiError(404, "http.404", f"no such OGC API resource /ogc/{rest}", "资源不存在", "path")
