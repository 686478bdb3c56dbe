"""Callback outbox: deliver city-task updates to the city platform, signed, in order, until it answers 2xx.

Rows are written by `dispatch.service` in the same transaction as the change. A worker claims the
oldest pending row of a task (`FOR UPDATE SKIP LOCKED`, and only if no older row of that task is
still pending), posts it, and records the outcome in the same transaction — so two workers never send
one row at the same time, and a task's updates reach the city in sequence.
"""
from __future__ import annotations

import http.client
import json
import logging
import random
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from accounts.principal import Principal
from accounts.request_signing import sign_request
from config.settings import Settings
from dispatch.models import DeliveryQuery
from dispatch.service import DispatchError, utcnow
from store.dispatch import CallbackDelivery, Task

log = logging.getLogger(__name__)

BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=1)
Poster = Callable[[str, bytes, dict[str, str], float], tuple[int, str]]

_CLAIM = text("""
SELECT d.id FROM callback_delivery d
WHERE d.status = 'pending' AND d.next_attempt_at <= :now
  AND NOT EXISTS (SELECT 1 FROM callback_delivery e
                  WHERE e.task_id = d.task_id AND e.status = 'pending' AND e.id < d.id)
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
""")


@dataclass(frozen=True)
class CallbackTarget:
    """Where and as whom to deliver: the city's URL (from configuration) and the district's SM2 key."""

    url: str
    private_key_hex: str
    key_id: str
    timeout: float = 10.0


class OutboxConfigError(RuntimeError):
    """The callback URL or the district signing key is not configured."""


def district_key_id(district_code: str) -> str:
    """The key id the city knows the district's SM2 key by."""
    return f"district-{district_code}"


def target_from_settings(settings: Settings) -> CallbackTarget:
    """The callback target from configuration (never from a request payload)."""
    url, key = settings.city_callback_url, settings.district_signing_key.get_secret_value()
    if not url or not key:
        raise OutboxConfigError("CITY_CALLBACK_URL and DISTRICT_SIGNING_KEY must be configured")
    if urlsplit(url).scheme not in ("http", "https"):
        raise OutboxConfigError("CITY_CALLBACK_URL must be an http(s) URL")
    return CallbackTarget(url=url, private_key_hex=key, key_id=district_key_id(settings.district_code))


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    keys: list[str] = field(default_factory=list)


def backoff(attempts: int, *, jitter: float = 0.2) -> timedelta:
    """Delay before the next try after `attempts` failures: 5 s doubling to at most 1 h, ±20 %."""
    delay = min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    jittered: timedelta = delay * (1 + random.uniform(-jitter, jitter))
    return jittered


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST and return (status, start of the body); network errors raise OSError."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URL from configuration)
            return resp.status, resp.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(500).decode("utf-8", "replace")


def _request(target: CallbackTarget, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    parts = urlsplit(target.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = sign_request(private_key_hex=target.private_key_hex, key_id=target.key_id, method="POST",
                           path=path, body=body)
    headers.update({"Content-Type": "application/json; charset=utf-8",
                    "Idempotency-Key": payload["idempotency_key"]})
    return body, headers


def deliver_one(session: Session, *, target: CallbackTarget, now: datetime | None = None,
                post: Poster = http_post) -> tuple[str, bool] | None:
    """Claim and send one due delivery in this session's transaction; None when nothing is due."""
    now = now or utcnow()
    row_id = session.scalar(_CLAIM, {"now": now})
    if row_id is None:
        return None
    row = session.get(CallbackDelivery, row_id)
    assert row is not None
    row.attempts += 1
    try:
        body, headers = _request(target, row.payload)  # signed with the wall clock
        status, answer = post(target.url, body, headers, target.timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timeout, DNS, garbled answer
        status, answer = None, f"{type(exc).__name__}: {exc}"
    row.last_status_code = status
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
        return row.idempotency_key, True
    row.last_error = (answer or "")[:500]
    row.next_attempt_at = now + backoff(row.attempts)
    log.info("callback %s failed (attempt %d): %s %s", row.idempotency_key, row.attempts, status, row.last_error)
    return row.idempotency_key, False


def deliver_due(factory: sessionmaker[Session], *, target: CallbackTarget, now: datetime | None = None,
                max_rows: int = 1000, post: Poster = http_post) -> DeliveryStats:
    """Send every due delivery once (one transaction each) and return what happened."""
    stats = DeliveryStats()
    for _ in range(max_rows):
        with factory() as session, session.begin():
            outcome = deliver_one(session, target=target, now=now, post=post)
        if outcome is None:
            break
        key, ok = outcome
        if ok:
            stats.delivered += 1
            stats.keys.append(key)
        else:
            stats.failed += 1
    return stats


def list_deliveries(session: Session, *, actor: Principal, query: DeliveryQuery) -> list[dict[str, Any]]:
    """The delivery log for district commanders (own district) and the city's administrators."""
    if actor.role not in ("district_commander", "city_admin"):
        raise DispatchError("forbidden", "delivery.forbidden", "only administrators see the delivery log",
                            "仅管理人员可查看回调投递记录")
    stmt = select(CallbackDelivery).join(Task, Task.id == CallbackDelivery.task_id)
    if not actor.is_city:
        stmt = stmt.where(Task.district_code == actor.district_code)
    if query.status:
        stmt = stmt.where(CallbackDelivery.status == query.status)
    if query.task_id:
        stmt = stmt.where(CallbackDelivery.task_id == query.task_id)
    rows = session.scalars(stmt.order_by(CallbackDelivery.id.desc()).limit(query.limit))
    return [{"id": r.id, "idempotency_key": r.idempotency_key, "task_id": r.task_id, "status": r.status,
             "attempts": r.attempts, "next_attempt_at": r.next_attempt_at, "last_status_code": r.last_status_code,
             "last_error": r.last_error, "delivered_at": r.delivered_at, "created_at": r.created_at,
             "event": (r.payload or {}).get("event", "")} for r in rows]
