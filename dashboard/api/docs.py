"""`/api/v1/openapi.json` (the generated document) and `/api/docs` (a local, CDN-free renderer of it)."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, jsonify, send_file

from dashboard.api import bp
from dashboard.openapi import build_document

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
# Not named *.js / *.css: Dash would otherwise load them into every screen.
_FILES = {"apidocs.js": ("apidocs.js.src", "text/javascript"), "apidocs.css": ("apidocs.css.src", "text/css")}


@bp.get("/openapi.json")
def openapi_json():  # type: ignore[no-untyped-def]
    return jsonify(build_document())


def _docs_page() -> Response:
    return send_file(ASSETS / "apidocs.html", mimetype="text/html", max_age=0)


def _docs_asset(name: str) -> Response:
    if name not in _FILES:
        abort(404)
    filename, mimetype = _FILES[name]
    return send_file(ASSETS / filename, mimetype=mimetype, max_age=300)


def _add_docs_routes(app: Flask) -> None:
    app.add_url_rule("/api/docs", "apidocs_page", _docs_page)
    app.add_url_rule("/api/docs/<name>", "apidocs_asset", _docs_asset)


# /api/docs lives outside the blueprint's /api/v1 prefix: add it to the app when `bp` is registered.
bp.record_once(lambda state: _add_docs_routes(state.app))
