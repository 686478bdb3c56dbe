"""Reach the process-wide services built in `create_app`."""
from __future__ import annotations

from flask import current_app

from config.runtime import Services

EXTENSION_KEY = "onemap"


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
