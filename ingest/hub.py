"""One relay per web process: wakes on `<ns>:events:notify`, reads new events, fans them out to screens.

Each open screen holds a `Subscription` (a bounded queue). A screen that falls too far behind is
cut off; its browser reconnects with Last-Event-ID and replays from the capped stream instead.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib

from ingest.events import notify_channel, read_events_after, stream_bounds

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # a missed wake-up costs at most this much delay


@dataclass(eq=False)
class Subscription:
    """The queue of one open screen; `lagged` is set when it overflowed and must reconnect."""

    items: queue.Queue[tuple[str, dict[str, Any]]]
    lagged: bool = False


@dataclass
class HubStatus:
    alive: bool
    screens: int
    last_event_id: str | None
    last_event_at: float | None
    relayed: int = 0
    errors: int = 0


@dataclass
class EventHub:
    """Relays the events stream of `namespace` to in-process subscribers (start() once per process)."""

    redis: redis_lib.Redis
    namespace: str
    queue_size: int = 2000
    _subs: set[Subscription] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _last_id: str | None = None
    _last_at: float | None = None
    _relayed: int = 0
    _errors: int = 0

    def start(self) -> None:
        """Start the relay thread if it is not running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"event-hub:{self.namespace}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def subscribe(self) -> Subscription:
        sub = Subscription(items=queue.Queue(maxsize=self.queue_size))
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def status(self) -> HubStatus:
        alive = self._thread is not None and self._thread.is_alive()
        return HubStatus(alive=alive, screens=len(self._subs), last_event_id=self._last_id,
                         last_event_at=self._last_at, relayed=self._relayed, errors=self._errors)

    def _run(self) -> None:
        pubsub = None
        while not self._stop.is_set():
            try:
                if pubsub is None:
                    pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(notify_channel(self.namespace))
                    if self._last_id is None:
                        self._last_id = stream_bounds(self.redis, self.namespace)[1] or "0-0"
                pubsub.get_message(timeout=POLL_SECONDS)
                while pubsub.get_message(timeout=0) is not None:  # coalesce a burst of wake-ups
                    pass
                self._relay()
            except redis_lib.RedisError as exc:
                self._errors += 1
                log.warning("event relay lost redis (%s); reconnecting", exc)
                if pubsub is not None:
                    with contextlib.suppress(redis_lib.RedisError):
                        pubsub.close()
                pubsub = None
                self._stop.wait(1.0)
        if pubsub is not None:
            pubsub.close()

    def _relay(self) -> None:
        while True:
            events = read_events_after(self.redis, self.namespace, self._last_id or "0-0", count=500)
            if not events:
                return
            with self._lock:
                subs = list(self._subs)
            for sub in subs:
                for item in events:
                    try:
                        sub.items.put_nowait(item)
                    except queue.Full:
                        sub.lagged = True
                        break
            self._last_id = events[-1][0]
            self._last_at = time.time()
            self._relayed += len(events)
