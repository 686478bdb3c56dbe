"""Send the assist outbox to the city platform: SM2-signed, one message at a time, in order per request.

A worker claims the oldest due message whose request has no older message still pending (`FOR UPDATE
SKIP LOCKED`), seals a new request's personal data for the receiving district (its SM2 public key from
the city's key directory), posts it and records the outcome in the same transaction. 2xx: delivered (a
delivered request becomes 'received' at the receiver's time). A refusal (4xx): the message is refused
and the timeline says so. Anything else: retried later with backoff.
"""
from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accounts.request_signing import sign_request
from assist.inbound import sealed_context
from assist.live import Publish, announce
from assist.service import PERSONAL_FIELD, local_district, record_event, utcnow
from config.settings import Settings
from dispatch.outbox import Poster, backoff, district_key_id, http_post
from security.envelope import Sealer
from security.pii import FieldCipher
from store.assist import AssistOutbox, AssistRequest

MESSAGES_PATH = "/assist/v1/messages"
DIRECTORY_PATH = "/assist/v1/directory"
RETRY_STATUSES = frozenset({408, 425, 429})
_CLAIM = text("""
SELECT o.id FROM assist_outbox o
WHERE o.status = 'pending' AND o.next_attempt_at <= :now
  AND NOT EXISTS (SELECT 1 FROM assist_outbox e
                  WHERE e.request_id = o.request_id AND e.status = 'pending' AND e.id < o.id)
ORDER BY o.id
LIMIT 1
FOR UPDATE OF o SKIP LOCKED
""")
KeyLookup = Callable[[str], tuple[int | None, dict[str, Any]]]


@dataclass(frozen=True)
class AssistTarget:
    """The city's relay (base URL from configuration) and this district's SM2 key."""

    city_url: str
    private_key_hex: str
    key_id: str
    timeout: float = 30.0


@dataclass
class SendStats:
    delivered: int = 0
    refused: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)


class AssistConfigError(RuntimeError):
    """CITY_ASSIST_URL or DISTRICT_SIGNING_KEY is not configured."""


def target_from_settings(settings: Settings) -> AssistTarget:
    """The relay target from configuration (never from a request)."""
    url, key = settings.city_assist_url, settings.district_signing_key.get_secret_value()
    if not url or not key:
        raise AssistConfigError("CITY_ASSIST_URL and DISTRICT_SIGNING_KEY must be configured")
    if urlsplit(url).scheme not in ("http", "https"):
        raise AssistConfigError("CITY_ASSIST_URL must be an http(s) URL")
    return AssistTarget(city_url=url, private_key_hex=key, key_id=district_key_id(settings.district_code))


class TemporaryFailure(Exception):
    """The city could not be reached or answered with a retryable status."""


def signed_post(target: AssistTarget, path: str, body: dict[str, Any], post: Poster) -> tuple[int | None, str]:
    """POST `body` to the city at `path`, signed with the district's key; (status, answer) or (None, error)."""
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    base = urlsplit(target.city_url)
    headers = sign_request(private_key_hex=target.private_key_hex, key_id=target.key_id, method="POST",
                           path=base.path.rstrip("/") + path, body=raw)
    headers["Content-Type"] = "application/json; charset=utf-8"
    try:
        return post(target.city_url.rstrip("/") + path, raw, headers, target.timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _parsed(answer: str) -> dict[str, Any]:
    try:
        value = json.loads(answer or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def receiver_key(target: AssistTarget, district: str, post: Poster) -> tuple[str, str]:
    """(key id, SM2 public key) of `district` from the city's key directory."""
    status, answer = signed_post(target, DIRECTORY_PATH, {"district_code": district}, post)
    if status is None or status >= 500 or status in RETRY_STATUSES:
        raise TemporaryFailure(f"key directory: {status} {answer[:200]}")
    body = _parsed(answer)
    if status != 200 or not body.get("public_key"):
        raise ValueError(f"key directory refused {district}: {status} {answer[:200]}")
    return str(body["key_id"]), str(body["public_key"])


def _sealed(req: AssistRequest, payload: dict[str, Any], *, target: AssistTarget, cipher: FieldCipher | None,
            post: Poster) -> dict[str, Any]:
    """The request message with the personal data sealed for the receiving district."""
    if req.personal_enc is None or payload["kind"] != "request":
        return payload
    if cipher is None:
        raise TemporaryFailure("no personal-data key is configured to read the request's personal data")
    key_id, public_key = receiver_key(target, req.to_district, post)
    sealer = Sealer(public_key, key_id)
    personal = cipher.decrypt(req.personal_enc, PERSONAL_FIELD).encode()
    part = {**payload["request"], "envelope": sealer.header.as_json(),
            "personal_sealed": sealer.seal(personal, sealed_context(req.request_no))}
    return {**payload, "request": part}


def deliver_one(session: Session, *, target: AssistTarget, cipher: FieldCipher | None, now: datetime | None = None,
                post: Poster = http_post, publish: Publish | None = None) -> tuple[str, str] | None:
    """Claim and send one due message in this transaction; (message id, outcome) or None when none is due."""
    now = now or utcnow()
    row_id = session.scalar(_CLAIM, {"now": now})
    if row_id is None:
        return None
    row = session.get(AssistOutbox, row_id)
    req = session.get(AssistRequest, row.request_id) if row else None
    assert row is not None and req is not None
    row.attempts += 1
    try:
        body = _sealed(req, row.payload, target=target, cipher=cipher, post=post)
        status, answer = signed_post(target, MESSAGES_PATH, body, post)
    except TemporaryFailure as exc:
        status, answer = None, str(exc)
    except ValueError as exc:
        status, answer = 404, str(exc)
    outcome = _record(session, row, req, status, answer, now)
    if outcome != "failed":  # delivered (the request may now be 'received') or refused (an 'undelivered' event)
        announce(session, publish, req, event_kind="undelivered" if outcome == "refused" else None)
    return row.message_id, outcome


def _record(session: Session, row: AssistOutbox, req: AssistRequest, status: int | None, answer: str,
            now: datetime) -> str:
    row.last_status_code = status
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
        if row.kind == "request" and req.state == "sent":
            _mark_received(session, req, _parsed(answer), now)
        return "delivered"
    row.last_error = (answer or "")[:1000]
    if status is not None and 400 <= status < 500 and status not in RETRY_STATUSES:
        row.status = "refused"
        record_event(session, req, "undelivered", from_state=req.state, actor_name="市级平台",
                     district_code=local_district(req), at=now, note=f"{status}: {_error_code(answer)}")
        return "refused"
    row.next_attempt_at = now + backoff(row.attempts)
    return "failed"


def _error_code(answer: str) -> str:
    error = _parsed(answer).get("error")
    if isinstance(error, dict):
        return str(error.get("code", ""))[:80]
    return str(error or answer)[:80]


def _mark_received(session: Session, req: AssistRequest, answer: dict[str, Any], now: datetime) -> None:
    try:
        at = datetime.fromisoformat(str(answer.get("received_at")))
    except ValueError:
        at = now
    at = at if at.tzinfo else now
    req.state = "received"
    record_event(session, req, "received", from_state="sent", actor_name="市级平台转发",
                 district_code=req.to_district, at=at)


def send_due(factory: sessionmaker[Session], *, target: AssistTarget, cipher: FieldCipher | None,
             now: datetime | None = None, max_rows: int = 1000, post: Poster = http_post,
             publish: Publish | None = None) -> SendStats:
    """Send every due message once (one transaction each) and count the outcomes."""
    stats = SendStats()
    for _ in range(max_rows):
        with factory() as session, session.begin():
            outcome = deliver_one(session, target=target, cipher=cipher, now=now, post=post, publish=publish)
        if outcome is None:
            break
        stats.messages.append(outcome[0])
        setattr(stats, outcome[1], getattr(stats, outcome[1]) + 1)
    return stats
