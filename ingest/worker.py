"""The intake worker: reads `<ns>:intake` in a consumer group and stores through the shared writers.

Guarantees: an entry is acknowledged only after its record is committed (or refused for good and
moved to the dead-letter stream); entries left pending by a dead consumer are reclaimed after
`min_idle_ms`; an entry that fails `max_deliveries` times goes to `<ns>:intake:dead` with its error;
while PostGIS is down the worker holds its batch, probes, and carries on when the database is back.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import redis as redis_lib
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from config.runtime import Services
from ingest.bus import GROUP, dead_key, ensure_group, errors_key, intake_key
from ingest.schemas import KINDS
from ingest.writers import store_batch

log = logging.getLogger(__name__)
_BytesEntries = list[tuple[bytes, dict[bytes, bytes]]]
DB_DOWN = (OperationalError, InterfaceError)


@dataclass
class _Entry:
    id: str
    kind: str
    raw: str
    record: Any = None
    error: str | None = None


@dataclass
class WorkerStats:
    """Counters since the worker started."""

    stored: int = 0
    dead: int = 0
    reclaimed: int = 0
    db_pauses: int = 0
    batches: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class IntakeWorker:
    """One consumer of the intake stream; run it with `run(stop_event)`."""

    def __init__(self, services: Services, consumer: str, *, batch_size: int = 500, block_ms: int = 1000,
                 min_idle_ms: int = 30_000, max_deliveries: int = 5, claim_every_s: float = 5.0) -> None:
        self.services = services
        self.consumer = consumer
        self.batch_size, self.block_ms = batch_size, block_ms
        self.min_idle_ms, self.max_deliveries, self.claim_every_s = min_idle_ms, max_deliveries, claim_every_s
        self.ns = services.settings.redis_namespace
        self.redis = services.redis
        self.stats = WorkerStats()
        self._stop = threading.Event()

    # --- loop ---------------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, until_idle: bool = False) -> WorkerStats:
        """Process until `stop` is set (or, with `until_idle`, until nothing is left to do)."""
        self._stop = stop or threading.Event()
        last_claim = 0.0
        backlog_from: str | None = "0"  # first what this consumer name held before a restart
        while not self._stop.is_set():
            try:
                ensure_group(self.redis, self.ns)
                if backlog_from is not None:
                    entries = self._read(backlog_from)
                    backlog_from = entries[-1].id if entries else None
                    self._process(entries, redelivered=True)
                    continue
                if time.monotonic() - last_claim >= self.claim_every_s:
                    last_claim = time.monotonic()
                    self._reclaim()
                entries = self._read(">", block=not until_idle)
                if entries:
                    self._process(entries)
                elif until_idle:
                    if self._idle():
                        break
                    self._stop.wait(0.05)  # entries still pending elsewhere: wait for them to be reclaimable
            except redis_lib.RedisError as exc:
                log.warning("redis unavailable (%s); retrying in 1 s", exc)
                self._stop.wait(1.0)
        return self.stats

    def _idle(self) -> bool:
        pending = self.redis.xpending(intake_key(self.ns), GROUP)
        return int(pending["pending"]) == 0

    def _read(self, from_id: str, block: bool = True) -> list[_Entry]:
        reply = self.redis.xreadgroup(GROUP, self.consumer, {intake_key(self.ns): from_id}, count=self.batch_size,
                                      block=self.block_ms if (block and from_id == ">") else None)
        # RESP2 reply [[stream, [(id, fields), …]], …]; redis-py's type also covers RESP3's dict form.
        streams = cast(list[list[Any]], reply or [])
        return [self._entry(i, f) for _, rows in streams for i, f in rows]

    def _reclaim(self) -> None:
        """Take over entries idle for longer than `min_idle_ms` (their consumer died or keeps failing)."""
        start = "0-0"
        while not self._stop.is_set():
            nxt, claimed, *_ = self.redis.xautoclaim(intake_key(self.ns), GROUP, self.consumer, self.min_idle_ms,
                                                     start_id=start, count=self.batch_size)
            entries = [self._entry(i, f) for i, f in claimed if i is not None]
            if entries:
                self.stats.reclaimed += len(entries)
                log.info("reclaimed %d idle entries", len(entries))
                self._process(entries, redelivered=True)
            start = nxt.decode() if isinstance(nxt, bytes) else nxt
            if start == "0-0":
                return

    @staticmethod
    def _entry(entry_id: Any, fields: dict[Any, Any] | None) -> _Entry:
        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                  for k, v in (fields or {}).items()}
        entry = _Entry(id=eid, kind=fields.get("kind", ""), raw=fields.get("data", ""))
        if entry.kind not in KINDS:
            entry.error = f"stream.unknown_kind: {entry.kind!r}"
        else:
            try:
                entry.record = json.loads(entry.raw)
            except ValueError:
                entry.error = "stream.bad_json"
        return entry

    # --- processing --------------------------------------------------------------------------------

    def _process(self, entries: list[_Entry], redelivered: bool = False) -> None:
        if not entries:
            return
        if redelivered:
            entries = self._drop_exhausted(entries)
        by_kind: dict[str, list[_Entry]] = defaultdict(list)
        for entry in entries:
            if entry.error:
                self._dead(entry, [{"code": entry.error.split(":")[0], "message": entry.error}])
            else:
                by_kind[entry.kind].append(entry)
        for kind, group in by_kind.items():
            self._store(kind, group)

    def _drop_exhausted(self, entries: list[_Entry]) -> list[_Entry]:
        """Dead-letter entries delivered `max_deliveries` times or more; return the rest."""
        pipe = self.redis.pipeline(transaction=False)
        for entry in entries:
            pipe.xpending_range(intake_key(self.ns), GROUP, min=entry.id, max=entry.id, count=1)
        counts = {e.id: (rows[0]["times_delivered"] if rows else 0) for e, rows in zip(entries, pipe.execute(), strict=True)}
        last_errors = self.redis.hmget(errors_key(self.ns), [e.id for e in entries])
        keep = []
        for entry, last in zip(entries, last_errors, strict=True):
            if counts[entry.id] > self.max_deliveries:
                reason = last.decode() if isinstance(last, bytes) else (last or "unknown")
                self._dead(entry, [{"code": "delivery.exhausted", "message": reason,
                                    "deliveries": counts[entry.id]}])
            else:
                keep.append(entry)
        return keep

    def _store(self, kind: str, entries: list[_Entry]) -> None:
        """Store a group of one kind; ack after commit. On an unexpected error, isolate the failing entries."""
        while not self._stop.is_set():
            try:
                result = store_batch(self.services, kind=kind, records=[e.record for e in entries])
            except DB_DOWN:
                self._wait_for_db()
                continue
            except Exception as exc:
                if len(entries) == 1:
                    self._remember_failure(entries[0], exc)
                else:
                    for entry in entries:
                        self._store(kind, [entry])
                return
            self.stats.batches += 1
            for entry, outcome in zip(entries, result.results, strict=True):
                if outcome.status == "rejected":
                    self._dead(entry, [e.model_dump() for e in outcome.errors])
                else:
                    self.stats.stored += 1
            self._ack([e.id for e, o in zip(entries, result.results, strict=True) if o.status != "rejected"])
            return

    def _remember_failure(self, entry: _Entry, exc: Exception) -> None:
        """Leave the entry pending (it is retried via XAUTOCLAIM) and keep the error for the dead letter."""
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.stats.errors[type(exc).__name__] = self.stats.errors.get(type(exc).__name__, 0) + 1
        log.warning("entry %s failed: %s", entry.id, reason)
        self.redis.hset(errors_key(self.ns), entry.id, reason)

    def _ack(self, ids: list[str]) -> None:
        if not ids:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(intake_key(self.ns), GROUP, *ids)
        pipe.xdel(intake_key(self.ns), *ids)  # the intake stream keeps only what is still to do
        pipe.hdel(errors_key(self.ns), *ids)
        pipe.execute()

    def _dead(self, entry: _Entry, errors: list[dict[str, Any]]) -> None:
        """Move an entry to the dead-letter stream with its errors (payload SM4-encrypted when a key is set)."""
        cipher = self.services.cipher
        payload = (base64.b64encode(cipher.encrypt(entry.raw, "intake.dead")).decode()
                   if cipher is not None else entry.raw)
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(dead_key(self.ns), {
            "kind": entry.kind, "entry_id": entry.id, "consumer": self.consumer,
            "errors": json.dumps(errors, ensure_ascii=False), "encrypted": "1" if cipher is not None else "0",
            "data": payload, "time": datetime.now(UTC).isoformat()})
        pipe.xack(intake_key(self.ns), GROUP, entry.id)
        pipe.xdel(intake_key(self.ns), entry.id)
        pipe.hdel(errors_key(self.ns), entry.id)
        pipe.execute()
        self.stats.dead += 1

    def _wait_for_db(self) -> None:
        """Pause until PostGIS answers again (or the worker is told to stop)."""
        self.stats.db_pauses += 1
        log.warning("database unavailable; worker %s paused", self.consumer)
        delay = 0.25
        while not self._stop.wait(delay):
            try:
                with self.services.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                log.warning("database back; worker %s resumes", self.consumer)
                return
            except DB_DOWN:
                delay = min(delay * 2, 5.0)


def read_dead_letters(services: Services, count: int = 100) -> list[dict[str, Any]]:
    """The newest dead letters with their errors, payload decrypted (for operators)."""
    out = []
    # The client is made without decode_responses, so ids and fields are bytes (redis-py types every mode).
    entries = cast(_BytesEntries, services.redis.xrevrange(dead_key(services.settings.redis_namespace), count=count))
    for entry_id, fields in entries:
        row = {k.decode(): v.decode() for k, v in fields.items()}
        if row.get("encrypted") == "1" and services.cipher is not None:
            row["data"] = services.cipher.decrypt(base64.b64decode(row["data"]), "intake.dead")
        row["errors"] = json.loads(row["errors"])
        row["id"] = entry_id.decode()
        out.append(row)
    return out
