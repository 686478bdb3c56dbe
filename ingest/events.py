"""Change events: after a commit, a compact event goes to the capped stream `<ns>:events`.

The stream entry id is the SSE event id, so a screen that reconnects with Last-Event-ID gets what
it missed; a PUBLISH on `<ns>:events:notify` wakes every web process's relay at once. In the same
transaction each event bumps the versions of the topics it can affect (store.topics) in the hash
`<ns>:events:topics`, so a cached answer is recomputed only when data it reads has changed.
"""
from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable
from typing import Any

import redis as redis_lib
from redis.sentinel import SentinelConnectionPool

from store.changes import ChangeEvent as ChangeEvent  # re-exported: the event every package announces
from store.topics import event_topics

EVENTS_MAXLEN = 10_000
FAILOVER_SECONDS = 15.0  # how long a publish behind Sentinel waits for a new master


def events_key(namespace: str) -> str:
    return f"{namespace}:events"


def notify_channel(namespace: str) -> str:
    return f"{namespace}:events:notify"


def publish_change(redis: redis_lib.Redis, namespace: str, event: ChangeEvent) -> str:
    """Announce one committed change to every open screen; returns its event id.

    Call it after your transaction has committed, e.g.
    `publish_change(services.redis, settings.redis_namespace, ChangeEvent(kind="signal", id=s.id,
    action="created", district_code=s.district_code, geometry=[lon, lat], fields={"state": s.state}))`.
    Viewers are filtered by `district_code` (and `institution_id` for institution users), so set them.
    """
    return publish_changes(redis, namespace, [event])[0]


def publish_changes(redis: redis_lib.Redis, namespace: str, events: Iterable[ChangeEvent]) -> list[str]:
    """Publish several committed changes in one round trip (one XADD each, one wake-up).

    The topic versions and the stream change in one MULTI, so a reader of `topic_versions` sees
    either both or neither.
    """
    events = list(events)
    if not events:
        return []
    deadline = time.monotonic() + FAILOVER_SECONDS
    while True:
        try:
            return _publish(redis, namespace, events)
        except redis_lib.ConnectionError:
            # Behind Sentinel a failover takes a few seconds: wait for the new master rather than drop the events.
            if not isinstance(redis.connection_pool, SentinelConnectionPool) or time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def _publish(redis: redis_lib.Redis, namespace: str, events: list[ChangeEvent]) -> list[str]:
    topics = set().union(*(event_topics(e) for e in events))
    pipe = redis.pipeline(transaction=True)
    for topic in sorted(topics):
        pipe.hincrby(topics_key(namespace), topic, 1)
    for event in events:
        pipe.xadd(events_key(namespace), {"e": event.model_dump_json()}, maxlen=EVENTS_MAXLEN, approximate=True)
    pipe.publish(notify_channel(namespace), str(len(events)))
    ids = pipe.execute()[len(topics):-1]
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


def decode_entry(fields: dict[Any, Any]) -> dict[str, Any] | None:
    """The event dict of a stream entry, or None if the entry is not an event."""
    raw = fields.get(b"e") or fields.get("e")
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def read_events_after(redis: redis_lib.Redis, namespace: str, after_id: str, count: int = 1000
                      ) -> list[tuple[str, dict[str, Any]]]:
    """Events strictly after `after_id` ('0-0' for all), oldest first."""
    entries = redis.xrange(events_key(namespace), min=f"({after_id}", max="+", count=count) or []
    out: list[tuple[str, dict[str, Any]]] = []
    for entry_id, fields in entries:
        event = decode_entry(fields or {})
        if event is not None and entry_id is not None:  # redis-py types ids and fields as optional
            out.append((entry_id.decode() if isinstance(entry_id, bytes) else entry_id, event))
    return out


def stream_bounds(redis: redis_lib.Redis, namespace: str) -> tuple[str | None, str | None]:
    """The first and last event ids still held in the capped stream."""
    first = redis.xrange(events_key(namespace), count=1) or []
    last = redis.xrevrange(events_key(namespace), count=1) or []

    def _id(rows: list[Any]) -> str | None:
        return (rows[0][0].decode() if isinstance(rows[0][0], bytes) else rows[0][0]) if rows else None

    return _id(first), _id(last)


def parse_event_id(value: str) -> tuple[int, int] | None:
    """'1700000000000-3' → (1700000000000, 3); None when malformed."""
    ms, _, seq = value.strip().partition("-")
    if not ms.isdigit() or (seq and not seq.isdigit()):
        return None
    return int(ms), int(seq or 0)


def topics_key(namespace: str) -> str:
    return f"{namespace}:events:topics"


def generation_key(namespace: str) -> str:
    return f"{namespace}:events:generation"


def announce_bulk_change(redis: redis_lib.Redis, namespace: str) -> None:
    """After a bulk load (seed, imports) that publishes no per-record events: answers cached before it expire."""
    redis.incr(generation_key(namespace))


def data_version(redis: redis_lib.Redis, namespace: str) -> str:
    """The id of the last published change and the bulk generation: it changes with every announced write."""
    last_id, gen, _ = topic_versions(redis, namespace, ())
    return f"{last_id}/{gen}"


def topic_versions(redis: redis_lib.Redis, namespace: str, topics: Collection[str]
                   ) -> tuple[str, str, dict[str, int]]:
    """(last event id, bulk generation, version of each topic), read at one instant (MULTI).

    Every change announced up to the last event id is counted in the topic versions returned.
    """
    names = sorted(topics)
    pipe = redis.pipeline(transaction=True)
    pipe.xrevrange(events_key(namespace), count=1)
    pipe.get(generation_key(namespace))
    if names:
        pipe.hmget(topics_key(namespace), names)
    last, generation, *versions = pipe.execute()
    last_id = last[0][0] if last else b"0-0"
    last_id = last_id.decode() if isinstance(last_id, bytes) else str(last_id)
    gen = generation.decode() if isinstance(generation, bytes) else (generation or "0")
    counts = dict(zip(names, (int(v or 0) for v in versions[0]), strict=True)) if names else {}
    return last_id, gen, counts
