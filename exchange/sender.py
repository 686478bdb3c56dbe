"""Send the exchange outbox up to the city: SM2-signed batches, in outbox order, one sender at a time.

A sender takes the transaction-scoped advisory lock (a second sender finds it taken and waits for
the next round), claims the oldest due rows, keeps only the newest row of each record (older ones
are superseded: the city needs the record's current state once, not its history), builds the
records, seals identities for the city, posts the batch and records the city's answer per record
in the same transaction. A failed POST leaves every row pending with a backed-off next attempt.
"""
from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from accounts.request_signing import sign_request
from config.settings import Settings
from dispatch.outbox import Poster, backoff, district_key_id
from exchange.records import build_records
from exchange.schema import SCHEMA_VERSION, BatchAnswer
from security.envelope import Sealer
from security.pii import FieldCipher
from store.accounts import ApiClient
from store.exchange import ExchangeOutbox

SENDER_LOCK = 0x0E8C4A  # pg advisory lock key of the exchange sender
_CLAIM = text("""
SELECT id, record_type, record_id, attempts FROM exchange_outbox
WHERE status = 'pending' AND next_attempt_at <= :now
ORDER BY id LIMIT :size
FOR UPDATE SKIP LOCKED
""")


MAX_ANSWER_BYTES = 4 * 1024 * 1024  # the city's per-record answer to a batch of 1,000 is about 120 KB


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST and return (status, the whole answer): the city's reply lists every record's outcome."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URL from configuration)
            return resp.status, resp.read(MAX_ANSWER_BYTES).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode("utf-8", "replace")


class ExchangeConfigError(RuntimeError):
    """The exchange URL, the district signing key or the city's public key is not configured."""


@dataclass(frozen=True)
class ExchangeTarget:
    """Where to send, as whom (the district's SM2 key) and for whom to seal (the city's SM2 public key)."""

    url: str
    private_key_hex: str
    key_id: str
    city_public_key_hex: str
    city_key_id: str = "city"
    timeout: float = 30.0


@dataclass
class SendStats:
    batches: int = 0
    delivered: int = 0
    refused: int = 0
    superseded: int = 0
    failed: int = 0


def target_from_settings(settings: Settings, city_public_key: str = "") -> ExchangeTarget:
    """The exchange target from configuration (never from a request); the city's key from settings or given."""
    url, key = settings.city_exchange_url, settings.district_signing_key.get_secret_value()
    city_key = settings.city_public_key or city_public_key
    if not url or not key or not city_key:
        raise ExchangeConfigError("CITY_EXCHANGE_URL, DISTRICT_SIGNING_KEY and the city's SM2 public key "
                                  "(CITY_PUBLIC_KEY or the registered api_client CITY_KEY_ID) must be configured")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ExchangeConfigError("CITY_EXCHANGE_URL must be an http(s) URL")
    return ExchangeTarget(url=url, private_key_hex=key, key_id=district_key_id(settings.district_code),
                          city_public_key_hex=city_key, city_key_id=settings.city_key_id)


def registered_city_key(session: Session, key_id: str) -> str:
    """The SM2 public key the city signs its requests with (api_client `key_id`), '' when not registered."""
    key = session.scalar(select(ApiClient.sm2_public_key).where(ApiClient.key_id == key_id, ApiClient.is_active))
    return key or ""


def send_due(factory: sessionmaker[Session], *, target: ExchangeTarget, cipher: FieldCipher | None,
             district_code: str, size: int = 500, max_batches: int = 1000, post: Poster = http_post,
             now: datetime | None = None) -> SendStats:
    """Send due rows batch by batch (one transaction each) until none is due or a batch fails."""
    stats = SendStats()
    for _ in range(max_batches):
        with factory() as session, session.begin():
            sent = send_batch(session, target=target, cipher=cipher, district_code=district_code, size=size,
                              post=post, stats=stats, now=now)
        if not sent:
            break
    return stats


def send_batch(session: Session, *, target: ExchangeTarget, cipher: FieldCipher | None, district_code: str,
               size: int = 500, post: Poster = http_post, stats: SendStats | None = None,
               now: datetime | None = None) -> bool:
    """Claim, send and record one batch in this transaction; False when nothing was sent (or it failed)."""
    stats = stats if stats is not None else SendStats()
    now = now or datetime.now(UTC)
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SENDER_LOCK}):
        return False
    claimed = session.execute(_CLAIM, {"now": now, "size": size}).all()
    if not claimed:
        return False
    keep = _supersede_older(session, claimed, stats)
    sealer = Sealer(target.city_public_key_hex, target.city_key_id)
    records = build_records(session, [(r.id, r.record_type, r.record_id) for r in keep], cipher=cipher,
                            sealer=sealer)
    _mark(session, [r.id for r in keep if r.id not in records], "superseded", code="record.deleted", now=now)
    stats.superseded += len(keep) - len(records)
    if not records:
        return True
    ok = _post_and_record(session, target, district_code, sealer, records, post, now, stats)
    return ok


def _supersede_older(session: Session, claimed: Sequence[Any], stats: SendStats) -> list[Any]:
    newest: dict[tuple[str, int], Any] = {}
    for row in claimed:  # ascending id: the last row of a record wins
        newest[(row.record_type, row.record_id)] = row
    keep_ids = {r.id for r in newest.values()}
    older = [r.id for r in claimed if r.id not in keep_ids]
    _mark(session, older, "superseded", code="record.newer_version")
    stats.superseded += len(older)
    return [r for r in claimed if r.id in keep_ids]


def _mark(session: Session, ids: list[int], status: str, *, code: str, now: datetime | None = None) -> None:
    if ids:
        session.execute(update(ExchangeOutbox).where(ExchangeOutbox.id.in_(ids))
                        .values(status=status, outcome_code=code, answered_at=now))


def _post_and_record(session: Session, target: ExchangeTarget, district_code: str, sealer: Sealer,
                     records: dict[int, dict[str, Any]], post: Poster, now: datetime, stats: SendStats) -> bool:
    batch_id = uuid.uuid4().hex
    body = {"schema_version": SCHEMA_VERSION, "batch_id": batch_id, "district_code": district_code,
            "sent_at": now.isoformat(), "envelope": sealer.header.as_json(), "records": list(records.values())}
    status, answer = _post(target, body, post)
    rows = {r.id: r for r in session.scalars(select(ExchangeOutbox).where(ExchangeOutbox.id.in_(records)))}
    for row in rows.values():
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or now
        row.last_status_code = status
    parsed = _answer(status, answer, batch_id)
    if parsed is None:
        _retry_later(rows.values(), now, f"{status}: {answer[:400]}")
        stats.failed += len(rows)
        return False
    _record_results(rows, records, parsed, now, stats)
    stats.batches += 1
    return True


def _post(target: ExchangeTarget, body: dict[str, Any], post: Poster) -> tuple[int | None, str]:
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = sign_request(private_key_hex=target.private_key_hex, key_id=target.key_id, method="POST", path=path,
                           body=raw)
    headers.update({"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": body["batch_id"]})
    try:
        return post(target.url, raw, headers, target.timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timeout, DNS, garbled answer
        return None, f"{type(exc).__name__}: {exc}"


def _answer(status: int | None, answer: str, batch_id: str) -> BatchAnswer | None:
    if status is None or not 200 <= status < 300:
        return None
    try:
        parsed = BatchAnswer.model_validate_json(answer)
    except ValidationError:
        return None
    return parsed if parsed.batch_id == batch_id else None


def _retry_later(rows: Any, now: datetime, error: str) -> None:
    for row in rows:
        row.last_error = error
        row.next_attempt_at = now + backoff(row.attempts)


def _record_results(rows: dict[int, ExchangeOutbox], records: dict[int, dict[str, Any]], parsed: BatchAnswer,
                    now: datetime, stats: SendStats) -> None:
    by_key = {(r.record_id, r.version): r for r in parsed.results}
    unanswered = []
    for outbox_id, row in rows.items():
        rec = records[outbox_id]
        result = by_key.get((rec["record_id"], rec["version"]))
        if result is None:
            unanswered.append(row)
            continue
        refused = result.outcome == "refused"
        row.status, row.outcome_code, row.answered_at, row.last_error = (
            "refused" if refused else "delivered", result.code or result.outcome, now, None)
        if row.conformant is None:
            row.conformant = not (refused and (result.code or "").startswith("schema."))
        stats.refused += refused
        stats.delivered += not refused
    _retry_later(unanswered, now, "no answer for this record in the city's reply")
    stats.failed += len(unanswered)
