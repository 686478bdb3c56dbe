"""The Dash app mounted on the Flask server: one router, one module per screen."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from dash import Dash, Input, Output, dcc, html
from flask import Flask

from dashboard import ids
from dashboard.components.shell import INDEX_STRING, frame
from dashboard.dash_guard import install_dash_guards
from dashboard.pages import PAGES

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _not_found(path: str) -> Any:
    links = [html.Li(dcc.Link(mod.TITLE, href=p)) for p, mod in PAGES.items()]
    return html.Div([html.H2("页面不存在"), html.P(path), html.Ul(links)], className="page page-404")


def build_dash(server: Flask) -> Dash:
    """Create the Dash app on `server`; callbacks are bound to this instance, not globally."""
    dash_app = Dash(
        __name__,
        server=server,  # type: ignore[arg-type]  # Dash types it bool | Callable; it documents a Flask app
        url_base_pathname="/",
        assets_folder=str(ASSETS),
        serve_locally=True,
        title="OneMap 一张图",
        suppress_callback_exceptions=True,
        update_title=None,  # type: ignore[arg-type]  # Dash types it str; None (documented) turns it off
        index_string=INDEX_STRING,  # <html lang="zh-CN">
    )
    dash_app.layout = html.Div([dcc.Location(id=ids.URL), html.Div(id=ids.PAGE)])

    @dash_app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), Input(ids.URL, "search"))
    def route(pathname: str | None, search: str | None) -> Any:
        query = dict(parse_qsl((search or "").lstrip("?")))
        page = PAGES.get((pathname or "/").rstrip("/") or "/monitor")
        if pathname in (None, "", "/"):
            page = PAGES["/monitor"]
        return frame(page.PATH, query, page.layout(query)) if page else _not_found(pathname or "")

    for page in PAGES.values():
        page.register(dash_app)
    _register_bundles_in_every_process(server, dash_app)
    install_dash_guards(server, dash_app)  # bad callback bodies / unknown bundles: 4xx, not 500
    return dash_app


def _register_bundles_in_every_process(server: Flask, dash_app: Dash) -> None:
    """Make every request of a fresh worker see the full list of bundle paths Dash may serve.

    Dash marks its first-request setup as done before the setup has registered those paths. Under
    gunicorn's threads a second request arriving meanwhile was checked against a partial list and
    answered 500 ("the path requested is not valid"), which left a screen blank. Seen with 2 workers;
    reproduced in tests/test_health.py.
    """
    done = threading.Event()

    def register_once() -> None:
        if not done.is_set():
            dash_app._generate_scripts_html()  # noqa: SLF001 - Dash has no public hook for this
            dash_app._generate_css_dist_html()  # noqa: SLF001
            done.set()

    server.before_request(register_once)
