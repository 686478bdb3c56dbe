"""/healthz: 200 when PostGIS and Redis answer, 503 naming what is down (details only for signed-in callers)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from dashboard.auth import current_principal
from dashboard.extensions import services

bp = Blueprint("health", __name__)


def _check_postgis() -> str:
    try:
        with services().engine.connect() as conn:
            version = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        return f"ok (PostGIS {version})"
    except Exception as exc:  # any failure means "down"; the reason is shown
        return f"down: {type(exc).__name__}"


def _check_redis() -> str:
    try:
        services().redis.ping()
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


@bp.get("/healthz")
def healthz():
    """Anonymous callers (load balancers) learn only ok / down; signed-in staff also see versions and errors."""
    checks = {"postgis": _check_postgis(), "redis": _check_redis()}
    down = [name for name, state in checks.items() if not state.startswith("ok")]
    if current_principal() is None:
        checks = {name: "down" if name in down else "ok" for name in checks}
    body = {"status": "down" if down else "ok", "checks": checks, "down": down}
    return jsonify(body), (503 if down else 200)
