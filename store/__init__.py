"""The project's tables (one metadata, one Alembic history), split by subject.

Importing this package registers every table on `geo.db.Base.metadata`.
"""
from geo.db import Base
from store import accounts, audit, cases, dispatch, exchange, feeds, inbox, places, response, rollups, signals  # noqa: F401

metadata = Base.metadata
