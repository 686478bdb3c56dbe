"""The fault suite: each scenario fills a Ledger (accepted, stored, lost, duplicated, 5xx on bad input).

After its faults, every scenario that writes to a database runs the rollup check of `onemap rollups check` on it
(`rollup_differences`, issue 18): the number of case_daily rows that differ from case_report goes into the ledger
and must be 0. The package database is checked once more when it is dropped (tests/databases.py).

`make test` runs the short form; `make chaos` sets CHAOS_FULL=1 for more records and longer outages.
Every engine that is killed or restarted here is our own (tests/system/chaos/support.py), never the shared one.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.events import decode_entry, events_key
from store.rollups import differences
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.system.chaos.support import Ledger

FULL = os.environ.get("CHAOS_FULL") == "1"
LEDGERS: list[Ledger] = []


def scale(short: int, full: int) -> int:
    """A size for the short (CI) or the full (`make chaos`) form."""
    return full if FULL else short


@pytest.fixture
def ledger(request: Any) -> Iterator[Ledger]:
    book = Ledger(scenario=request.node.name)
    yield book
    LEDGERS.append(book)


def stored_source_ids(session_factory: Any, prefix: str) -> list[str]:
    """Every case_report source id starting with `prefix` (one per row)."""
    with session_factory() as s:
        return list(s.scalars(text("SELECT source_id FROM case_report WHERE source_id LIKE :p"),
                              {"p": prefix + "%"}))


def created_event_ids(redis: Any, namespace: str, prefix: str) -> list[str]:
    """Source ids of the 'created' change events on the events stream (one per event)."""
    out: list[str] = []
    for _, fields in redis.xrange(events_key(namespace)):
        event = decode_entry(fields) or {}
        sid = (event.get("fields") or {}).get("source_id", "")
        if event.get("action") == "created" and sid.startswith(prefix):
            out.append(sid)
    return out


def rollup_differences(session_factory: Callable[[], Session], ledger: Ledger) -> int:
    """`onemap rollups check` on a scenario's database: how many case_daily rows differ from a recomputation
    from case_report (0: exact); the count, and a few examples if any, go into the ledger."""
    with session_factory() as session:
        diffs = differences(session)
    ledger.notes["rollup_differences"] = len(diffs)
    if diffs:
        ledger.notes["rollup_examples"] = [str(d) for d in diffs[:3]]
    return len(diffs)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not LEDGERS:
        return
    terminalreporter.section("fault suite ledger" + (" (full)" if FULL else " (short form)"))
    for book in LEDGERS:
        terminalreporter.write_line(book.line())
