"""Set-based writes of validated records, shared by the ingest batches and the feed writers.

A run collects one outcome per record and the change events to announce after commit. Records are
written with one statement per chunk (`unnest` of one array per column); if the database refuses that
statement, `guarded` retries record by record, each in a savepoint, so only the culprits are rejected.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from store.changes import ChangeEvent
from store.records import FieldError, RecordOutcome, field_error

Written = Literal["created", "updated"]
Status = Literal["created", "updated", "unchanged", "rejected"]


@dataclass(kw_only=True)
class Item:
    """One validated record on its way in: its position in the request, model, key and row to write."""

    index: int
    rec: Any
    source_id: str | None
    row: dict[str, Any] = field(default_factory=dict)
    owner: Any = None  # the resolved institution / team / site / school / pharmacy


@dataclass(kw_only=True)
class BulkRun:
    """The outcomes and change events of one batch, written in `session` (the caller's transaction)."""

    session: Session
    outcomes: dict[int, RecordOutcome] = field(default_factory=dict)
    events: list[ChangeEvent] = field(default_factory=list)
    # the field a source-id conflict is reported on
    source_field: ClassVar[str | None] = None

    def reject(self, item: Item, errors: list[FieldError]) -> None:
        self.outcomes[item.index] = RecordOutcome(index=item.index, status="rejected", source_id=item.source_id,
                                                  errors=errors)

    def done(self, item: Item, status: Status, row_id: int | None) -> None:
        self.outcomes[item.index] = RecordOutcome(index=item.index, status=status, source_id=item.source_id,
                                                  id=row_id)

    def guarded(self, items: list[Item], write: Callable[[list[Item]], None]) -> None:
        """Write all items in a savepoint; if the database refuses, retry one by one and reject the culprits."""
        try:
            with self.session.begin_nested():
                write(items)
            return
        except (IntegrityError, DataError) as exc:
            if len(items) == 1:
                self.reject_db(items[0], exc)
                return
        for item in items:
            try:
                with self.session.begin_nested():
                    write([item])
            except (IntegrityError, DataError) as exc:
                self.reject_db(item, exc)

    def reject_db(self, item: Item, exc: Exception) -> None:
        """Reject a record the database refused, naming the constraint only (its detail may be personal)."""
        diag = getattr(getattr(exc, "orig", None), "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        if "source_id" in constraint:
            err = field_error(self.source_field, "conflict.source_id", "source id already used by a different record")
        else:
            err = field_error(None, "db.rejected", f"refused by the database ({constraint or type(exc).__name__})")
        self.reject(item, [err])

    def settle(self, items: list[Item], returned: Iterable[Any],
               event_for: Callable[[Item, int, Written], ChangeEvent]) -> None:
        """Each item's outcome from an upsert's RETURNING (id, source_id, inserted) rows, and its change event."""
        written = {r.source_id: r for r in returned}
        for item in items:
            hit = written.get(item.source_id)
            if hit is None:
                self.done(item, "unchanged", None)
                continue
            action: Written = "created" if hit.inserted else "updated"
            self.done(item, action, hit.id)
            self.events.append(event_for(item, hit.id, action))

    def latest_per_key(self, items: list[Item], key: Callable[[Item], Any],
                       order: Callable[[Item], Any] = lambda i: 0) -> list[Item]:
        """Keep one item per key (highest `order`, then the last sent); the others are marked unchanged."""
        best: dict[Any, Item] = {}
        for item in items:
            k = key(item)
            if k not in best or order(item) >= order(best[k]):
                best[k] = item
        winners = {id(i) for i in best.values()}
        for item in items:
            if id(item) not in winners:
                self.done(item, "unchanged", None)
        return [i for i in items if id(i) in winners]


def unnest(columns: dict[str, str], rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """`unnest(CAST(:c AS type[]), …) AS t(c, …)` and its parameters, one array per column."""
    casts = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in columns.items())
    params = {c: [r[c] for r in rows] for c in columns}
    return f"unnest({casts}) AS t({', '.join(columns)})", params
