"""Map layers as GeoJSON: `GET /api/v1/layers` (catalogue) and `GET /api/v1/layers/<id>` (filtered)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, jsonify, request
from pydantic import ValidationError

from accounts.principal import Principal
from accounts.scope import ScopeError
from dashboard.answer_cache import layer_question, summary_question
from dashboard.api import bp
from dashboard.api.requests import caller
from dashboard.audit_trail import audit_denied, audit_read
from dashboard.auth import current_principal, require_principal
from dashboard.errors import ApiError
from dashboard.extensions import answers
from dashboard.form_errors import message_zh
from dashboard.read_routing import read_session
from layers import indicators
from layers.base import REGION_ALIASES, LayerFilters, fold_region_aliases
from layers.registry import all_layers, get_layer
from layers.signals import signal_evidence

T = TypeVar("T")
FILTER_PARAMS = frozenset(LayerFilters.model_fields) | frozenset(REGION_ALIASES)
CASE_LAYERS = frozenset({"cases", "cases.heat"})  # layers made of individual case reports: reads are audited


def parse_filters(args: Any) -> LayerFilters:
    """Query parameters → LayerFilters; unknown or invalid parameters → 422 naming the field."""
    unknown = sorted(set(args) - FILTER_PARAMS)
    if unknown:
        raise ApiError(422, "filter.unknown", f"unknown query parameter {unknown[0]}", f"不支持的查询参数 {unknown[0]}",
                       unknown[0])
    folded = fold_region_aliases({k: args.get(k) for k in args})  # LayerError → its status in dashboard.errors
    try:
        return LayerFilters.model_validate(folded)
    except ValidationError as exc:
        raise filter_error(exc) from None


FILTER_ZH = {"since": "开始日期", "until": "结束日期", "bbox": "范围框", "disease": "病种", "region": "区域",
             "level": "层级", "limit": "条数"}


def filter_error(exc: ValidationError) -> ApiError:
    """The first error of LayerFilters as a 422 naming its parameter, with a Chinese reason (form_errors)."""
    err = exc.errors(include_url=False, include_input=False)[0]
    ctx = err.get("ctx") or {}
    field = str(err["loc"][0]) if err["loc"] else str(ctx.get("field") or "query")
    kind = str(err["type"])
    code = "invalid.date_range" if kind == "date_range" else f"filter.{kind}"
    zh = f"筛选条件不合法：{FILTER_ZH.get(field, field)}（{message_zh(err)}）"
    return ApiError(422, code, f"{field}: {err['msg']}", zh, field)


def run_scoped(fn: Callable[..., T], *args: Any) -> T:
    """Call a layer function with a fresh session; a scope refusal is audited and answered 403."""
    principal = current_principal()
    assert principal is not None
    try:
        return read_session(lambda session: fn(session, principal, *args))  # a fresh replica, or the primary
    except ScopeError as exc:
        audit_denied(principal, "scope.denied", object_type="api", object_id=request.path,
                     detail={"query": request.args.to_dict(flat=False), "reason": str(exc)})
        raise ApiError(403, "scope.forbidden", str(exc), "超出当前账号的数据范围", "region") from None


def cached_json(question: str, compute: Callable[[], Any], mimetype: str = "application/json") -> Response:
    """The answer from the shared cache (computed once per data version), with an ETag for 304s."""
    principal = current_principal()
    assert principal is not None
    answer = answers().answer(question, principal, compute)
    resp = Response(status=304) if answer.etag in request.if_none_match else Response(answer.body, mimetype=mimetype)
    resp.set_etag(answer.etag)
    resp.headers["Cache-Control"] = "private, no-cache"  # revalidate every time: the data is live
    resp.headers["X-Answer-Cache"] = "hit" if answer.cached else "miss"
    return resp


def _catalogue(session: Any, principal: Principal) -> list[dict[str, Any]]:
    return [layer.describe(session, principal) for layer in all_layers().values()]


@bp.get("/layers")
@require_principal()
def layer_catalogue():
    return jsonify({"layers": run_scoped(_catalogue)})


@bp.get("/layers/<layer_id>")
@require_principal()
def layer_geojson(layer_id: str):
    layer = get_layer(layer_id)
    if layer is None:
        raise ApiError(404, "layer.not_found", f"unknown layer {layer_id}", "图层不存在", "layer_id")
    filters = parse_filters(request.args)
    resp = cached_json(layer_question(layer_id, filters), lambda: run_scoped(layer.run_json, filters),
                       mimetype="application/geo+json")
    if layer_id in CASE_LAYERS:  # case records (points): who read which filters, from where
        audit_read(caller(), "case.read", object_type="layer", object_id=layer_id,
                   filters=filters.model_dump(mode="json", exclude_defaults=True))
    return resp


@bp.get("/monitor/summary")
@require_principal()
def monitor_summary():
    """KPIs, QC indicators, top diseases and the epidemic curve for the same filters as the layers."""
    filters = parse_filters(request.args)
    return cached_json(summary_question(filters), lambda: run_scoped(indicators.monitor_summary, filters))


@bp.get("/monitor/signals/<int:signal_id>")
@require_principal()
def signal_evidence_view(signal_id: int):
    evidence = run_scoped(signal_evidence, signal_id)
    audit_read(caller(), "case.read", object_type="signal_evidence",
               object_id=str(signal_id))
    return jsonify(evidence)



def _register_docs() -> None:
    from dashboard.api.shapes import FeatureCollection, LayerCatalogue, LayerQuery, MonitorSummary, SignalEvidence
    from dashboard.openapi import register_operation

    tags = ("layers 图层",)
    register_operation("/api/v1/layers", "get", "图层目录（当前账号可见范围）", response_model=LayerCatalogue, tags=tags)
    register_operation("/api/v1/layers/<layer_id>", "get", "图层 GeoJSON（按范围与筛选条件）", tags=tags,
                       query_model=LayerQuery, response_model=FeatureCollection, media_type="application/geo+json",
                       also={304: ()}, description="ETag / If-None-Match: 304 when unchanged.")
    register_operation("/api/v1/monitor/summary", "get", "监测 KPI、质控指标、病种排名与流行曲线", tags=tags,
                       query_model=LayerQuery, response_model=MonitorSummary, also={304: ()})
    register_operation("/api/v1/monitor/signals/<int:signal_id>", "get", "预警信号的证据（病例序列与解释）",
                       response_model=SignalEvidence, tags=tags)


_register_docs()
