"""Dash's own endpoints answer bad requests with 4xx (JSON error body), never a 500 with a traceback.

- `/_dash-update-component`: the callback envelope (output, outputs, inputs, state, changedPropIds) is
  checked against the registered callback before Dash indexes into it; a body without `output`, with an
  unknown output or with the wrong number of inputs is a 400 naming the field.
- `/_dash-component-suites/<package>/<path>`: a package or file Dash does not serve is a 404.
Body size and JSON depth are checked earlier for every route (dashboard/request_limits.py).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from dash import Dash
from dash.exceptions import DependencyException
from flask import Flask, jsonify, request

from dashboard.errors import ApiError

UPDATE = "_dash-update-component"
SUITES = "_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, "dash.bad_callback", f"invalid callback request: {message}", "界面回调请求格式不正确",
                    field=field)


def _is_dep(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), (str, dict)) and isinstance(item.get("property"), str)


def _check_deps(body: dict[str, Any], key: str, expected: list[Any]) -> None:
    items = body.get(key, [])
    if not isinstance(items, list) or len(items) != len(expected):
        raise _bad(key, f"{key} must list {len(expected)} item(s)")
    for item in items:
        if not (_is_dep(item) or (isinstance(item, list) and all(_is_dep(i) for i in item))):
            raise _bad(key, f"every {key} item needs id and property")


def check_envelope(body: Any, callback_map: dict[str, Any]) -> None:
    """Raise ApiError(400) unless `body` is a callback request for a registered callback."""
    if not isinstance(body, dict):
        raise _bad("body", "body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise _bad("output", "output must name a registered callback")
    if not isinstance(body.get("outputs", []), (list, dict)):
        raise _bad("outputs", "outputs must be an object or a list")
    spec = callback_map[output]
    _check_deps(body, "inputs", spec.get("inputs") or [])
    _check_deps(body, "state", spec.get("state") or [])
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(p, str) for p in changed):
        raise _bad("changedPropIds", "changedPropIds must be a list of strings")


def _as_response(err: ApiError) -> Any:
    resp = jsonify(err.body())
    resp.status_code = err.status
    return resp


def _guard_update(view: Callable[..., Any], dash_app: Dash) -> Callable[..., Any]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            check_envelope(request.get_json(silent=True), dash_app.callback_map)
        except ApiError as err:
            return _as_response(err)
        return view(*args, **kwargs)
    return guarded


def _guard_suites(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DependencyException:
            return _as_response(ApiError(404, "asset.not_found", "no such script or style", "资源不存在", "path"))
    return guarded


def install_dash_guards(server: Flask, dash_app: Dash) -> None:
    """Wrap Dash's view functions (registered on `server` by the Dash constructor)."""
    prefix = dash_app.config.routes_pathname_prefix
    update, suites = prefix + UPDATE, prefix + SUITES
    server.view_functions[update] = _guard_update(server.view_functions[update], dash_app)
    server.view_functions[suites] = _guard_suites(server.view_functions[suites])
