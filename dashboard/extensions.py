"""Reach the process-wide services built in `create_app`."""
from __future__ import annotations

from flask import current_app

from config.runtime import Services
from dashboard.answer_cache import AnswerCache

EXTENSION_KEY = "onemap"
ANSWERS_KEY = "onemap.answers"


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]


def answers() -> AnswerCache:
    """The shared cache of layer and indicator answers."""
    return current_app.extensions[ANSWERS_KEY]
