"""Web shell: the only package that imports Flask or Dash."""
from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from config import Settings, load_settings
from config.runtime import build_services
from config.settings import require_secret_key
from dashboard.answer_cache import AnswerCache
from dashboard.extensions import ANSWERS_KEY, EXTENSION_KEY


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app with the REST API, health check and the Dash screens."""
    settings = settings or load_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=require_secret_key(settings),  # refuses to start without one (MissingSecretError)
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
    )
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own provider: the one with ensure_ascii
    app.json.ensure_ascii = False
    svc = app.extensions[EXTENSION_KEY] = build_services(settings)
    app.extensions[ANSWERS_KEY] = AnswerCache(svc.redis, settings.redis_namespace, settings.answer_cache_seconds)

    from dashboard.api import bp as api_bp
    from dashboard.briefing_docx import bp as briefing_docx_bp
    from dashboard.errors import register_error_handlers
    from dashboard.health import bp as health_bp
    from dashboard.ogc import bp as ogc_bp
    from dashboard.read_routing import install_read_your_writes
    from dashboard.reports import bp as reports_bp
    from dashboard.request_limits import install_body_limits
    from dashboard.security_headers import install_security
    from dashboard.web import build_dash

    register_error_handlers(app)
    install_body_limits(app, settings.max_body_bytes)  # first hook: before anything reads a body
    install_read_your_writes(app)  # with replicas only: a writer reads its own writes from the primary
    for blueprint in (health_bp, api_bp, ogc_bp, reports_bp, briefing_docx_bp):
        app.register_blueprint(blueprint)
    from dashboard.basemap import install_basemap

    install_basemap(app)
    install_security(app, build_dash(app))
    return app
