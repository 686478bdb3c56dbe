"""`/embed/monitor` and `/embed/command`: the two maps for a region, framed by the city platform.

The city platform first asks for a ticket over the signed API (`POST /api/v1/embed/tickets`
{page, region} → {ticket, expires_at}; dashboard/api/embed.py), then opens
`/embed/<page>?ticket=<et_...>`. The ticket lives at most a minute and is spent by its first use; it
names one page and one region. Redeeming it starts a view-only session (dashboard/view_only.py) whose
principal is a read-only, never-personal-data view of that district (accounts/embed_tickets.py), and
redirects to the same address without the ticket. Personal and device tokens in `?token=` are refused.
Framing is limited to settings.city_origin by `frame-ancestors` (dashboard/security_headers.py sets it
for /embed/ paths). Inside a cross-site frame the session cookie must be allowed by its SameSite
setting; same-site deployments (city and district under one registrable domain) work as is.
"""
from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlencode

from dash import Dash, html
from flask import Flask, g, redirect, render_template_string, request, session

from accounts import audit
from accounts.embed_tickets import REGION_RE, EmbedGrant, embed_principal, redeem_ticket
from accounts.tokens import principal_for_user
from dashboard.auth import current_principal, session_store, web_session
from dashboard.extensions import services
from dashboard.security_headers import client_ip, rotate_csrf
from store.accounts import AppUser

EMBED_PREFIX = "/embed/"
_INSTALLED = "onemap_embed_guard"


class EmbedPage:
    """A page-registry entry that renders another page's layout in embed mode."""

    def __init__(self, name: str, title: str) -> None:
        self.name, self.PATH, self.TITLE = name, f"{EMBED_PREFIX}{name}", f"{title}（嵌入）"

    def layout(self, query: dict[str, str]) -> Any:
        principal = current_principal()
        if principal is None:
            return _refusal("嵌入票据无效或已过期，请由市级平台重新打开")
        region = query.get("region") or principal.region_code
        ws = web_session()
        binding = ws.binding if ws is not None and ws.method == "embed" else None
        if binding is not None:  # an embed session shows only its ticket's page and region
            if binding.get("page") != self.name or (query.get("region") and query["region"] != binding["region"]):
                return _refusal("无权查看该区域")
            region = binding["region"]
        if not REGION_RE.match(region) or not principal.may_see_district(region[:6]):
            return _refusal("无权查看该区域")
        target = importlib.import_module(f"dashboard.pages.{self.name}")
        inner = target.layout({**query, "region": region, "embed": "1"})
        return html.Div(inner, className=f"embed embed-{self.name}")

    def register(self, dash_app: Dash) -> None:
        """Install the ticket check once on the Flask server (before the login guard runs)."""
        server: Flask = dash_app.server
        if not server.config.get(_INSTALLED):
            server.config[_INSTALLED] = True
            server.before_request(_ticket_login)


def _refusal(message: str) -> Any:
    return html.Div([html.H2("无法显示"), html.P(message)], className="page embed-refused")


def _ticket_login() -> Any:
    """Exchange `?ticket=` on an /embed/ page for a view-only session, then drop the ticket from the URL."""
    if not request.path.startswith(EMBED_PREFIX):
        return None
    if "token" in request.args:  # the old form: a bearer token in a URL is never a login
        return _plain(401, "嵌入页面不接受访问令牌，请由市级平台签发嵌入票据")
    if "ticket" not in request.args:
        return None
    svc = services()
    grant = redeem_ticket(svc.redis, svc.settings.redis_namespace, request.args.get("ticket", ""))
    if grant is None:
        return _plain(401, "嵌入票据无效、已使用或已过期")
    region = request.args.get("region", "")
    if request.path != f"{EMBED_PREFIX}{grant.page}" or (region and region != grant.region):
        return _plain(403, "嵌入票据不适用于该页面或区域")
    principal = _principal_for(grant)
    if principal is None:
        return _plain(401, "嵌入票据的签发方已停用")
    _start_embed_session(principal, grant)
    rest = [(k, v) for k, v in request.args.items(multi=True) if k not in ("ticket", "region")]
    return redirect(request.path + "?" + urlencode([("region", grant.region), *rest]), code=303)


def _principal_for(grant: EmbedGrant) -> Any:
    """The embed view of the ticket's issuer (still an active city_api user); audited as login.embed."""
    with services().session_factory() as db, db.begin():
        issuer = db.get(AppUser, grant.issuer_user_id)
        if issuer is None or not issuer.is_active or issuer.role != "city_api":
            return None
        principal = embed_principal(principal_for_user(db, issuer), grant)
        audit.record(db, actor=principal, action="login.embed", object_type="page", object_id=request.path,
                     district_code=principal.district_code, ip=client_ip(), detail={"region": grant.region})
    return principal


def _start_embed_session(principal: Any, grant: EmbedGrant) -> None:
    old = session.get("sid")
    if old:
        session_store().destroy(old)
    session.clear()
    ws = session_store().create(principal, method="embed", binding={"page": grant.page, "region": grant.region})
    session["sid"], session["device"] = ws.sid, False
    rotate_csrf()
    g.principal = principal


_PLAIN = ('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>OneMap</title>'
          "<p>{{ message }}</p></html>")


def _plain(status: int, message: str) -> Any:
    return render_template_string(_PLAIN, message=message), status, {"Content-Type": "text/html; charset=utf-8"}


EMBED_PAGES = (EmbedPage("monitor", "监测预警一张图"), EmbedPage("command", "应急指挥一张图"))
