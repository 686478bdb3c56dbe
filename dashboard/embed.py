"""`/embed/monitor` and `/embed/command`: the two maps for a region, framed by the city platform.

The city opens `/embed/<map>?region=<code>&token=<om_...>`. The token (a personal or device token
from accounts.tokens) is checked before anything else, a web session is started for its user and the
browser is redirected to the same address without the token (so it does not linger in the address bar,
history or logs). The page then renders the ordinary /monitor or /command layout for the region.
Framing is limited to settings.city_origin by `frame-ancestors` (dashboard/security_headers.py sets it
for /embed/ paths). Inside a cross-site frame the session cookie must be allowed by its SameSite
setting; same-site deployments (city and district under one registrable domain) work as is.
"""
from __future__ import annotations

import importlib
import re
from typing import Any
from urllib.parse import urlencode

from dash import Dash, html
from flask import Flask, g, redirect, request, session

from accounts import audit
from accounts.tokens import principal_for_token
from dashboard.auth import current_principal, session_store
from dashboard.extensions import services
from dashboard.security_headers import rotate_csrf

EMBED_PREFIX = "/embed/"
TOKEN_KINDS = ("personal", "device", "embed")
_REGION = re.compile(r"^\d{6}(\d{3})?$")
_INSTALLED = "onemap_embed_guard"


class EmbedPage:
    """A page-registry entry that renders another page's layout in embed mode."""

    def __init__(self, name: str, title: str) -> None:
        self.name, self.PATH, self.TITLE = name, f"{EMBED_PREFIX}{name}", f"{title}（嵌入）"

    def layout(self, query: dict[str, str]) -> Any:
        principal = current_principal()
        region = query.get("region") or (principal.region_code if principal else "")
        if principal is None:
            return _refusal("访问令牌无效或已过期，请由市级平台重新打开")
        if not _REGION.match(region) or not principal.may_see_district(region[:6]):
            return _refusal("无权查看该区域")
        target = importlib.import_module(f"dashboard.pages.{self.name}")
        inner = target.layout({**query, "region": region, "embed": "1"})
        return html.Div(inner, className=f"embed embed-{self.name}")

    def register(self, dash_app: Dash) -> None:
        """Install the token check once on the Flask server (before the login guard runs)."""
        server: Flask = dash_app.server
        if not server.config.get(_INSTALLED):
            server.config[_INSTALLED] = True
            server.before_request(_token_login)


def _refusal(message: str) -> Any:
    return html.Div([html.H2("无法显示"), html.P(message)], className="page embed-refused")


def _token_login() -> Any:
    """Exchange `?token=` on an /embed/ page for a session, then drop the token from the URL."""
    if not request.path.startswith(EMBED_PREFIX) or "token" not in request.args:
        return None
    token = request.args.get("token", "")
    with services().session_factory() as db, db.begin():
        principal = principal_for_token(db, token, kinds=TOKEN_KINDS)
        if principal is not None:
            audit.record(db, actor=principal, action="login.embed", object_type="page", object_id=request.path,
                         district_code=principal.district_code, ip=request.remote_addr)
    if principal is None:
        return _plain(401, "访问令牌无效或已过期")
    region = request.args.get("region", "")
    if region and (not _REGION.match(region) or not principal.may_see_district(region[:6])):
        return _plain(403, "无权查看该区域")
    old = session.get("sid")
    if old:
        session_store().destroy(old)
    session.clear()
    ws = session_store(device=True).create(principal, method="embed")
    session["sid"], session["device"] = ws.sid, True
    rotate_csrf()
    g.principal = principal
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    return redirect(request.path + ("?" + urlencode(rest) if rest else ""), code=303)


def _plain(status: int, message: str) -> Any:
    body = f"<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>OneMap</title><p>{message}</p></html>"
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


EMBED_PAGES = (EmbedPage("monitor", "监测预警一张图"), EmbedPage("command", "应急指挥一张图"))
