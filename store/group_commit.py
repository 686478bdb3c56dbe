"""Group commit: concurrent callers' rows written together, each caller returning once its own row is committed.

A write that must be serialised (an append to the audit hash chain takes one lock for the whole database)
costs a lock, a few round trips and a commit whatever it carries. Under load the callers queue for that
lock one by one; here they queue in memory instead, and whoever finds no write in progress writes every
row waiting, in arrival order, in one transaction. A caller waits for at most the write in progress and
its own. When a batch fails, its items are written again one by one, so only a caller whose own item
fails gets an error, as if it had written alone.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Slot(Generic[T]):
    """One caller's item and what became of it: written, failed, or its turn to write the queue."""

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Calls `write(items)` for batches of the items submitted by concurrent threads, one batch at a time."""

    def __init__(self, write: Callable[[list[T]], None]) -> None:
        self._write = write
        self._guard = threading.Lock()
        self._waiting: list[_Slot[T]] = []
        self._writing = False

    def submit(self, item: T) -> None:
        """Return once `item` is written (with whatever else was waiting); raise what its write raised."""
        slot = _Slot(item)
        with self._guard:
            self._waiting.append(slot)
            slot.lead, self._writing = not self._writing, True
        if not slot.lead:
            slot.done.wait()
        if slot.lead:  # no write was in progress, or the previous writer handed over
            self._write_waiting()
        if slot.error is not None:
            raise slot.error

    def _write_waiting(self) -> None:
        with self._guard:
            batch, self._waiting = self._waiting, []
        try:
            self._write([s.item for s in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                self._write_alone(batch)
        except BaseException as exc:  # interrupted: every caller of the batch sees it
            for s in batch:
                s.error = exc
        finally:
            self._hand_over(batch)

    def _write_alone(self, batch: list[_Slot[T]]) -> None:
        """After a failed batch: each item in a write of its own, each caller with its own outcome."""
        for s in batch:
            try:
                self._write([s.item])
            except Exception as exc:
                s.error = exc

    def _hand_over(self, batch: list[_Slot[T]]) -> None:
        """Wake the batch's callers; the first caller that arrived meanwhile writes the next batch."""
        with self._guard:
            nxt = self._waiting[0] if self._waiting else None
            self._writing = nxt is not None
            if nxt is not None:
                nxt.lead = True
                nxt.done.set()
        for s in batch:
            s.lead = False
            s.done.set()
