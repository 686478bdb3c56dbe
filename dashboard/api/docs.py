"""`/api/v1/openapi.json` (the generated document) and `/api/docs` (a local, CDN-free renderer of it)."""
from __future__ import annotations

from pathlib import Path

from flask import Response, abort, jsonify, render_template_string, send_file
from flask.sansio.app import App

from dashboard.api import bp
from dashboard.api.examples import request_example
from dashboard.components.shell import shell_header
from dashboard.openapi import build_document

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
# Not named *.js / *.css: Dash would otherwise load them into every screen.
_FILES = {"apidocs.js": ("apidocs.js.src", "text/javascript"), "apidocs.css": ("apidocs.css.src", "text/css")}


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_document(example_of=request_example))


def _docs_page() -> Response:
    """The docs page (a Jinja template) inside the app shell's header."""
    page = render_template_string((ASSETS / "apidocs.html").read_text(encoding="utf-8"), shell=shell_header("apidocs"))
    return Response(page, mimetype="text/html")


def _docs_asset(name: str) -> Response:
    if name not in _FILES:
        abort(404)
    filename, mimetype = _FILES[name]
    return send_file(ASSETS / filename, mimetype=mimetype, max_age=300)


def _add_docs_routes(app: App) -> None:
    app.add_url_rule("/api/docs", "apidocs_page", _docs_page)
    app.add_url_rule("/api/docs/<name>", "apidocs_asset", _docs_asset)


# /api/docs lives outside the blueprint's /api/v1 prefix: add it to the app when `bp` is registered.
bp.record_once(lambda state: _add_docs_routes(state.app))


def _register_docs() -> None:
    from dashboard.openapi import register_operation

    tags = ("docs 文档",)
    text = {"type": "string"}
    register_operation("/api/v1/openapi.json", "get", "本接口文档（OpenAPI 3.1）", tags=tags, auth=(),
                       response_content={"application/json": {"schema": {"type": "object"}}})
    register_operation("/api/docs", "get", "接口文档页面", tags=tags, auth=(),
                       response_content={"text/html": {"schema": text}})
    register_operation("/api/docs/<name>", "get", "接口文档页面的脚本与样式", tags=tags, auth=(),
                       response_content={"text/javascript": {"schema": text}, "text/css": {"schema": text}})


_register_docs()
