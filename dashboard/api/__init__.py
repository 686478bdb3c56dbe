"""REST API under /api/v1; each module adds its routes to `bp`."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Imported for their route registrations on `bp`.
from dashboard.api import (  # noqa: E402,F401
    assist,
    command,
    dispatch,
    docs,
    embed,
    exchange,
    feeds,
    fieldwork,
    forecast,
    identity,
    ingest,
    layers,
    live,
    meta,
    reference,
    signals,
    tiles,
    warn_settings,  # noqa: E402,F401
)

