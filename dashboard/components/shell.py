"""The app shell around every page: product and district, navigation, the user and logout.

One description of the shell (`shell_view`) feeds both renderings: Dash components for the Dash screens
(`app_shell`, applied by the router in dashboard/web.py) and a Jinja template for the Flask pages
(`shell_header`: profile, briefing, API docs). The look is assets/shell.css. The video wall (`?wall=1`)
and the /embed/ pages have no shell: no navigation and no logout there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import dcc, html
from flask import render_template_string
from markupsafe import Markup

from accounts.principal import Principal
from accounts.whoami import identify, region_name
from dashboard.auth import current_principal, web_session
from dashboard.components.attrs import attrs
from dashboard.extensions import services

PRODUCT = "OneMap 一张图"
COMMAND_ROLES = frozenset({"city_admin", "district_commander", "district_analyst", "wall_kiosk"})
EXCHANGE_ROLES = frozenset({"city_admin", "district_commander", "district_analyst"})
ASSIST_ROLES = frozenset({"city_admin", "district_commander", "district_analyst"})
KIOSK_PAGES = frozenset({"monitor", "command"})


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    roles: frozenset[str] | None = None  # None: every role
    full_session: bool = False  # hidden from view-only sessions (kiosk, embed)


NAV: tuple[NavItem, ...] = (
    NavItem("monitor", "监测预警一张图", "/monitor"),
    NavItem("command", "应急指挥一张图", "/command", roles=COMMAND_ROLES),
    NavItem("signals", "预警信号", "/signals"),
    NavItem("tasks", "任务", "/tasks"),
    NavItem("assists", "跨地区协查", "/assists", roles=ASSIST_ROLES),
    NavItem("briefing", "简报", "/reports/briefing"),
    NavItem("exchange", "数据交换", "/exchange", roles=EXCHANGE_ROLES),
    NavItem("profile", "个人设置", "/profile", full_session=True),
    NavItem("apidocs", "接口文档", "/api/docs"),
)
PATH_KEYS = {item.href: item.key for item in NAV}


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    active: bool


@dataclass(frozen=True)
class ShellView:
    """Everything the header shows; `user` is None for a visitor who is not logged in."""

    product: str
    district: str
    links: tuple[Link, ...]
    user: str | None
    role: str | None
    org: str | None
    csrf: str


def allowed(item: NavItem, principal: Principal, *, view_only: bool) -> bool:
    """May this principal see `item` in the navigation?"""
    if view_only and item.full_session:
        return False
    if principal.role == "wall_kiosk" and item.key not in KIOSK_PAGES:
        return False
    return item.roles is None or principal.role in item.roles


def nav_links(principal: Principal | None, active: str, *, view_only: bool = False) -> tuple[Link, ...]:
    """The navigation for `principal`, `active` (a NAV key) marked; nothing for a visitor."""
    if principal is None:
        return ()
    return tuple(Link(i.label, i.href, i.key == active) for i in NAV if allowed(i, principal, view_only=view_only))


def shell_view(active: str) -> ShellView:
    """The header of the current request's user (one small query for names)."""
    from dashboard.security_headers import csrf_token  # late: security_headers is installed after the pages

    principal = current_principal()
    svc = services()
    ws = web_session()
    with svc.session_factory() as db:
        district = region_name(db, (principal.district_code if principal else None) or svc.settings.district_code)
        who = identify(db, principal) if principal else None
    return ShellView(product=PRODUCT, district=district,
                     links=nav_links(principal, active, view_only=bool(ws and ws.view_only)),
                     user=who.display_name if who else None, role=who.role_zh if who else None,
                     org=who.org_name if who else None, csrf=csrf_token())


# ---------------------------------------------------------------- Dash rendering

def _dash_links(view: ShellView) -> Any:
    items = [html.A(link.label, href=link.href, className="om-nav-link" + (" is-active" if link.active else ""),
                    **attrs({"aria-current": "page"} if link.active else {})) for link in view.links]
    return html.Nav(items, className="om-nav", **attrs({"aria-label": "主导航"}))


def _dash_user(view: ShellView) -> Any:
    if view.user is None:
        return html.Div(html.A("登录", href="/login", className="om-btn"), className="om-user")
    logout = html.Form([dcc.Input(type="hidden", name="csrf_token", value=view.csrf, id="om-logout-csrf"),
                        html.Button("退出登录", type="submit", className="om-btn om-btn-quiet", id="om-logout")],
                       method="post", action="/logout", className="om-logout")
    who = html.Span([html.Span(view.user, className="om-user-name"), html.Span(view.role, className="om-role")],
                    className="om-who", title=view.org or "")
    return html.Div([who, logout], className="om-user")


def app_shell(body: Any, *, active: str) -> html.Div:
    """`body` (a Dash page layout) inside the app shell, `active` (a NAV key) marked in the navigation."""
    view = shell_view(active)
    brand = html.A([html.Span(view.product, className="om-product"),
                    html.Span(view.district, className="om-district")], href="/monitor", className="om-brand")
    header = html.Header([brand, _dash_links(view), _dash_user(view)], className="om-header", id="om-header")
    return html.Div([header, html.Main(body, className="om-main")], className="om-shell", id="om-shell",
                    **attrs({"data-active": active}))


# ---------------------------------------------------------------- Jinja rendering (Flask pages)

_HEADER = """<header class="om-header" id="om-header"><a class="om-brand" href="/monitor"><span class="om-product">
{{ v.product }}</span><span class="om-district">{{ v.district }}</span></a>
<nav class="om-nav" aria-label="主导航">{% for l in v.links %}<a class="om-nav-link{{ ' is-active' if l.active }}"
href="{{ l.href }}"{% if l.active %} aria-current="page"{% endif %}>{{ l.label }}</a>{% endfor %}</nav>
<div class="om-user">{% if v.user %}<span class="om-who" title="{{ v.org }}"><span class="om-user-name">{{ v.user }}</span>
<span class="om-role">{{ v.role }}</span></span><form class="om-logout" method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{ v.csrf }}"><button type="submit" class="om-btn om-btn-quiet"
id="om-logout">退出登录</button></form>{% else %}<a class="om-btn" href="/login">登录</a>{% endif %}</div></header>"""


def shell_header(active: str) -> Markup:
    """The shell's header for a Flask/Jinja page (autoescaped template, not string building)."""
    return Markup(render_template_string(_HEADER, v=shell_view(active)))


def frame(path: str, query: dict[str, str], body: Any) -> Any:
    """A routed Dash page in the shell, except the wall (`?wall=1`) and /embed/ pages, which stay chrome-less."""
    if path.startswith("/embed/") or query.get("wall") == "1" or query.get("embed") == "1":
        return body
    return app_shell(body, active=PATH_KEYS.get(path, ""))


# Dash's page: Dash's default template with the document language set (screen readers, fonts, hyphenation).
INDEX_STRING = """<!DOCTYPE html>
<html lang="zh-CN">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""
