"""Set-based writes through a staging table: binary COPY of the batch into a temporary table, then one merge.

The staging table lives for the connection (`ON COMMIT DELETE ROWS`) and is emptied by the merge itself
(`WITH staged AS (DELETE FROM <stage> RETURNING *) INSERT … SELECT … FROM staged ON CONFLICT …`), so a
batch retried record by record in savepoints (store.bulk.guarded) always merges exactly what it staged.
Triggers on the target table see one INSERT … ON CONFLICT statement, as with an `unnest` source.

A small batch (the single-record POSTs of a live feed) skips the staging table: its rows go into the merge as
`unnest` arrays, one round trip instead of three (create-if-missing, COPY, merge), and the commit has no
staging table to truncate.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from store.bulk import unnest

# the staging columns' SQL types and the names psycopg's binary COPY knows them by
_COPY_TYPES = {"text": "text", "int": "int4", "date": "date", "timestamptz": "timestamptz", "float8": "float8",
               "bytea": "bytea"}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
SMALL_BATCH = 32  # up to this many rows, merged from unnest arrays instead of the staging table


def stage_rows(session: Session, stage: str, columns: dict[str, str], rows: Sequence[Sequence[Any]]) -> None:
    """Create the temporary table `stage` (if this connection has none yet) and COPY `rows` into it."""
    if not _NAME.match(stage) or not all(_NAME.match(c) for c in columns):
        raise ValueError("staging table and column names must be plain identifiers")
    cols = ", ".join(f"{c} {t}" for c, t in columns.items())
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({cols}) ON COMMIT DELETE ROWS"))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([_COPY_TYPES[t] for t in columns.values()])
        for row in rows:
            copy.write_row(row)


def merge_staged(session: Session, stage: str, merge_sql: str) -> Result[Any]:
    """Run `merge_sql`, whose source is the CTE `staged` (the staged rows, removed from the stage as read)."""
    return session.execute(text(f"WITH staged AS (DELETE FROM {stage} RETURNING *) {merge_sql}"))


def stage_and_merge(session: Session, stage: str, columns: dict[str, str], rows: Sequence[dict[str, Any]],
                    merge_sql: str) -> Result[Any]:
    """Stage the dict `rows` (keys as `columns`) and merge them; returns the merge's RETURNING rows."""
    if len(rows) <= SMALL_BATCH:
        source, params = unnest(columns, list(rows))
        return session.execute(text(f"WITH staged AS (SELECT * FROM {source}) {merge_sql}"), params)
    stage_rows(session, stage, columns, [tuple(r[c] for c in columns) for r in rows])
    return merge_staged(session, stage, merge_sql)
