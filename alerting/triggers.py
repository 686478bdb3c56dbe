"""When the models run: after intake (debounced via `<ns>:warn:dirty`), once a day, and the overdue check.

Intake writers call `mark_dirty(redis, namespace)` after committing new cases or syndromic counts.
A worker loop (`run_when_dirty`) runs the models once nothing new has arrived for `debounce_s`
seconds, runs them daily at `daily_at` (China Standard Time), and escalates overdue signals
every minute. A Redis lock keeps two workers from running at the same time.
"""
from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import redis as redis_lib
from sqlalchemy.orm import Session, sessionmaker

from alerting.runner import AlarmSource, RunReport, run_all
from alerting.service import Publish, check_overdue
from geo.dates import CST

log = logging.getLogger(__name__)
LOCK_TTL_S = 600
# delete the dirty mark only if no writer touched it since we read it
_CLEAR_IF_SAME = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def dirty_key(namespace: str) -> str:
    return f"{namespace}:warn:dirty"


def mark_dirty(redis: redis_lib.Redis, namespace: str, *, now: float | None = None) -> None:
    """Record that new surveillance data arrived (the last arrival time restarts the debounce)."""
    redis.set(dirty_key(namespace), repr(_time.time() if now is None else now), ex=7 * 24 * 3600)


@dataclass
class WarnLoop:
    """One worker's warning schedule; `tick()` does whatever is due now (tests call it directly)."""

    redis: redis_lib.Redis
    namespace: str
    session_factory: sessionmaker[Session]
    district_code: str | None
    publish: Publish | None = None
    debounce_s: float = 30.0
    daily_at: time = time(6, 30)
    overdue_every_s: float = 60.0
    sources: Sequence[AlarmSource] = ()
    clock: Callable[[], float] = _time.time
    _last_overdue: float = 0.0

    def _lock(self) -> str | None:
        token = repr(self.clock())
        ok = self.redis.set(f"{self.namespace}:warn:lock", token, nx=True, ex=LOCK_TTL_S)
        return token if ok else None

    def _unlock(self, token: str) -> None:
        self.redis.eval(_CLEAR_IF_SAME, 1, f"{self.namespace}:warn:lock", token)

    def run(self, as_of: date, why: str) -> RunReport | None:
        """Run all models for `as_of` under the lock; None if another worker is running."""
        token = self._lock()
        if token is None:
            return None
        try:
            with self.session_factory() as session, session.begin():
                report = run_all(session, as_of=as_of, district_code=self.district_code, publish=self.publish,
                                 sources=self.sources)
            log.info("warn run (%s) %s: %s", why, as_of, report.as_dict())
            return report
        finally:
            self._unlock(token)

    def tick(self) -> list[str]:
        """Do what is due: a debounced run after intake, the daily run, the overdue check. Returns what ran."""
        done: list[str] = []
        now = self.clock()
        today = datetime.fromtimestamp(now, CST).date()
        raw = self.redis.get(dirty_key(self.namespace))
        if raw is not None and now - float(raw) >= self.debounce_s and self.run(today, "intake") is not None:
            self.redis.eval(_CLEAR_IF_SAME, 1, dirty_key(self.namespace), raw)
            done.append("intake")
        local = datetime.fromtimestamp(now, CST)
        if local.time() >= self.daily_at and self.redis.set(
                f"{self.namespace}:warn:daily:{today.isoformat()}", b"1", nx=True, ex=3 * 24 * 3600):
            self.run(today, "daily")
            done.append("daily")
        if now - self._last_overdue >= self.overdue_every_s:
            self._last_overdue = now
            with self.session_factory() as session, session.begin():
                ids = check_overdue(session, datetime.fromtimestamp(now, UTC), publish=self.publish)
            if ids:
                done.append("overdue")
        return done


def run_when_dirty(loop: WarnLoop, stop: threading.Event, *, poll_s: float = 1.0) -> None:
    """The worker loop: tick until `stop` is set; Redis or database trouble waits and retries."""
    while not stop.is_set():
        try:
            loop.tick()
        except (redis_lib.RedisError, OSError) as exc:
            log.warning("warn loop: redis unavailable (%s); retrying", exc)
        except Exception:  # a failed run must not kill the worker; the dirty mark stays for the next try
            log.exception("warn loop: run failed")
        stop.wait(poll_s)
