"""The disease list as screens offer it (class 甲/乙/丙 first, then code)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def disease_choices(session: Session) -> list[Any]:
    """Rows (code, name, klass) of every disease, ordered by class and code."""
    return list(session.execute(text("SELECT code, name, klass FROM disease ORDER BY klass, code")))
