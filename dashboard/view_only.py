"""View-only sessions (kiosk device token, embed ticket): they read, and do nothing else.

Refused with 403 `session.view_only`: /profile (tokens, password), every non-GET request except
logout and the Dash callbacks that only read, and, for an embed session, any page other than the one
its ticket named. All Dash callbacks share one URL (`/_dash-update-component`); a callback writes when
one of its outputs is listed in WRITE_CALLBACK_OUTPUTS (the message box every writing callback
fills). A callback body that names no outputs is refused too. The domain refuses the writes as well
(the session's principal has the read-only `wall_kiosk` role); this guard is the second wall.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request

from accounts.sessions import WebSession
from dashboard.auth import auth_method, web_session
from dashboard.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DASH_CALLBACK = "/_dash-update-component"
# Output ids of the callbacks that change data (dispatch, incidents, roster, stock, signal and task actions).
WRITE_CALLBACK_OUTPUTS = frozenset({"cmd-dispatch-msg", "cmd-roster-msg", "cmd-stock-msg", "sig-message",
                                    "tasks-message"})
ALWAYS_ALLOWED = ("/logout",)
# What an embed page loads besides itself.
EMBED_SUPPORT_PREFIXES = ("/_dash-", "/_reload-hash", "/assets/", "/_favicon.ico", "/favicon.ico",
                          "/api/v1/live", "/logout")

_REFUSED = ApiError(403, "session.view_only", "this session may only view (kiosk or embedded page)",
                    "当前会话仅供查看（大屏或嵌入页面），不能执行此操作")


def guard() -> Any:
    """before_request: raise 403 for anything a view-only session may not do."""
    if auth_method() != "session":
        return None
    ws = web_session()
    if ws is None or not ws.view_only:
        return None
    if request.path.startswith("/profile") or not _allowed(ws):
        raise _REFUSED
    return None


def _allowed(ws: WebSession) -> bool:
    path = request.path
    if ws.method == "embed" and not _embed_may_load(ws, path):
        return False
    if request.method in SAFE_METHODS or path in ALWAYS_ALLOWED:
        return True
    return path == DASH_CALLBACK and _reads_only(ws)


def _embed_path(ws: WebSession) -> str:
    return f"/embed/{(ws.binding or {}).get('page', '')}"


def _embed_may_load(ws: WebSession, path: str) -> bool:
    return path == _embed_path(ws) or path.startswith(EMBED_SUPPORT_PREFIXES)


def _reads_only(ws: WebSession) -> bool:
    """A Dash callback body whose outputs include no writing callback (and, for embeds, no other page)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return False
    outputs = body.get("outputs")
    specs = outputs if isinstance(outputs, list) else [outputs]
    ids = list(_component_ids(specs))
    if not ids or any(i in WRITE_CALLBACK_OUTPUTS for i in ids):
        return False
    return ws.method != "embed" or _routes_only_to(body.get("inputs"), _embed_path(ws))


def _component_ids(specs: Iterable[Any]) -> Iterable[str]:
    for spec in specs:
        if isinstance(spec, list):  # an ALL / ALLSMALLER output: one entry per matched component
            yield from _component_ids(spec)
            continue
        if not isinstance(spec, dict):
            continue
        cid = spec.get("id")
        if isinstance(cid, dict):  # pattern-matching id: its type names it
            cid = cid.get("type")
        if isinstance(cid, str):
            yield cid


def _routes_only_to(inputs: Any, path: str) -> bool:
    """The page router's pathname input, when present, must be the embed page itself."""
    for item in inputs if isinstance(inputs, list) else []:
        is_pathname = isinstance(item, dict) and item.get("id") == "url" and item.get("property") == "pathname"
        if is_pathname and (item.get("value") or "").rstrip("/") != path:
            return False
    return True
