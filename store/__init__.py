"""The project's tables (one metadata, one Alembic history), split by subject.

Importing this package registers every table on `geo.db.Base.metadata`.
"""
from geo.db import Base
from store import (  # noqa: F401
    accounts,
    assist,
    audit,
    cases,
    dispatch,
    exchange,
    feeds,
    fieldwork,
    inbox,
    places,
    response,
    rollups,
    signals,
    warn_runs,
)

metadata = Base.metadata
