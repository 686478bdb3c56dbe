"""Who am I (the caller's identity and scope), and honest answers for paths outside the API's routes.

Dash's page route `/<path:path>` matches every GET path, /api/... included. An /api path that no API
rule matches answers 404 (JSON error body); a known API path called with a method it lacks answers 405
with `Allow`. No catch-all route accepts every method.
"""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, request
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from dashboard.api import bp
from dashboard.auth import current_principal, require_principal
from dashboard.openapi import register_operation

API_PREFIX = "/api/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class MeOut(BaseModel):
    username: str
    role: str
    region_code: str
    institution_id: int | None


@bp.get("/me")
@require_principal()
def me():
    p = current_principal()
    assert p is not None
    return jsonify({"username": p.username, "role": p.role, "region_code": p.region_code,
                    "institution_id": p.institution_id})


def _api_rule_allows(method: str) -> bool:
    """Whether an /api rule (not Dash's page route) matches this request's path with `method`."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        rule, _args = adapter.match(method=method, return_rule=True)
    except HTTPException:
        return False
    return rule.rule.startswith(API_PREFIX)


def _honest_api_routing() -> Any:
    """before_app_request: 404 for unknown /api paths, 405 only when an /api rule has the path."""
    if not request.path.startswith(API_PREFIX):
        return None
    rule, exc = request.url_rule, request.routing_exception
    caught_by_page = rule is not None and not rule.rule.startswith(API_PREFIX)  # Dash's `/<path:path>`
    if caught_by_page or isinstance(exc, MethodNotAllowed):
        allowed = sorted(m for m in METHODS if _api_rule_allows(m))
        if not allowed:
            abort(404)
        raise MethodNotAllowed(valid_methods=allowed)
    return None


bp.before_app_request(_honest_api_routing)

register_operation("/api/v1/me", "get", "当前调用者的身份与数据范围", response_model=MeOut, tags=("meta 元信息",))
