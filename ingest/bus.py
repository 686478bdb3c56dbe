"""Thin Redis Streams adapter for intake: `<ns>:intake` (one record per entry) and its dead letters."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import redis as redis_lib

GROUP = "writers"
WAIT_MS = 2000  # longest wait for the replicas to confirm a submission


def intake_key(namespace: str) -> str:
    return f"{namespace}:intake"


def dead_key(namespace: str) -> str:
    return f"{namespace}:intake:dead"


def errors_key(namespace: str) -> str:
    """Hash: entry id → last error, kept while the entry is retried."""
    return f"{namespace}:intake:errors"


def _json_default(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode_record(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, default=_json_default, separators=(",", ":"))


def submit(redis: redis_lib.Redis, namespace: str, kind: str, record: dict[str, Any]) -> str:
    """Queue one record of `kind` for the worker; returns the stream entry id."""
    return submit_many(redis, namespace, kind, [record])[0]


class NotReplicated(redis_lib.ConnectionError):
    """The records reached the master but not the replicas asked for: they are not acknowledged, send again."""


def replicas_to_wait(redis: redis_lib.Redis, wanted: int) -> int:
    """`wanted` (≥ 0), or for -1 one replica when the master has any connected (INFO replication)."""
    if wanted >= 0:
        return wanted
    info = redis.info("replication")
    return min(1, int(info.get("connected_slaves", 0)))


def submit_many(redis: redis_lib.Redis, namespace: str, kind: str, records: Iterable[dict[str, Any]],
                chunk: int = 1000, replicas: int = 0) -> list[str]:
    """Queue many records of one kind (pipelined); returns their entry ids in order.

    With `replicas` (-1: as many as connected, at most 1) the call returns only once that many Redis replicas
    hold the records (WAIT), so a failover cannot lose them; else it raises NotReplicated and the sender retries
    (a record sent twice is stored once: intake upserts by source id).
    """
    ids: list[str] = []
    records = list(records)
    for start in range(0, len(records), chunk):
        pipe = redis.pipeline(transaction=False)
        for record in records[start:start + chunk]:
            pipe.xadd(intake_key(namespace), {"kind": kind, "data": encode_record(record)})
        ids += [i.decode() if isinstance(i, bytes) else i for i in pipe.execute()]
    need = replicas_to_wait(redis, replicas) if replicas else 0
    if need and redis.wait(need, WAIT_MS) < need:
        raise NotReplicated(f"{len(records)} records not yet on {need} replica(s) after {WAIT_MS} ms")
    return ids


def ensure_group(redis: redis_lib.Redis, namespace: str) -> None:
    """Create the consumer group (and the stream) if missing; reading starts at the beginning."""
    try:
        redis.xgroup_create(intake_key(namespace), GROUP, id="0", mkstream=True)
    except redis_lib.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def intake_stats(redis: redis_lib.Redis, namespace: str) -> dict[str, Any]:
    """Queue length, entries delivered but not acknowledged, dead letters, and consumers."""
    ensure_group(redis, namespace)
    groups = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"]: g
              for g in redis.xinfo_groups(intake_key(namespace))}
    group = groups.get(GROUP, {})
    return {
        "queued": redis.xlen(intake_key(namespace)),
        "pending": int(group.get("pending", 0)),
        "lag": group.get("lag"),
        "consumers": int(group.get("consumers", 0)),
        "dead": redis.xlen(dead_key(namespace)),
    }
