"""The tamper-evident audit trail: an SM3 hash chain with SM2-signed checkpoints.

Each row's `row_hash` = SM3(prev_hash ‖ canonical JSON of the row). Appends take a
transaction-scoped advisory lock, so concurrent writers queue and the chain never forks.
A checkpoint signs (kind, row id, hash) with the audit key: "head" checkpoints pin the
chain at a row (every N rows and on a timer), an "anchor" checkpoint re-anchors the
chain after a purge. Edits, deletions or forged rows before the newest checkpoint break
either a link or a signed hash; rows after it are reported as not yet signed.

Intake records its actions outside the lock (`record_pending`, in the data's transaction), so concurrent intakes
do not commit one at a time; `chain_pending` links them into the chain after their commit (a background chainer
per process, accounts.audit_chainer, and the checkpoint timer). Until then they are the unchained tail, which
the verifier counts and ages like the unsigned one.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from security.secrets import sm2_key_id
from security.sm2 import public_key_from_private, sm2_sign, sm2_verify
from security.sm3 import sm3_digest
from store.audit import ACTION_COLUMNS, AuditCheckpoint, AuditLog, AuditPending

GENESIS = b"\x00" * 32
LOCK_ID = 0x0A0D17  # pg_advisory_xact_lock key that serialises appends
CHECKPOINT_EVERY = 100
RETENTION_DAYS = 180

_signer: AuditSigner | None = None
# Where the current action comes from: the web shell sets the client address per request, the CLI "cli".
_client_address: ContextVar[str | None] = ContextVar("audit_client_address", default=None)


@dataclass(frozen=True)
class AuditSigner:
    """The SM2 key that signs checkpoints (from settings.audit_signing_key)."""

    private_hex: str = field(repr=False)

    @property
    def public_hex(self) -> str:
        return public_key_from_private(self.private_hex)

    @property
    def key_id(self) -> str:
        return sm2_key_id(self.public_hex)


def set_checkpoint_signer(signer: AuditSigner | None) -> None:
    """Let `record` sign a checkpoint every CHECKPOINT_EVERY rows (set by the app and the CLI)."""
    global _signer
    _signer = signer


def set_client_address(address: str | None) -> Token[str | None]:
    """Make `address` the default `ip` of every row recorded in this context (request, command)."""
    return _client_address.set(address[:45] if address else None)


def reset_client_address(token: Token[str | None]) -> None:
    _client_address.reset(token)


def client_address() -> str | None:
    return _client_address.get()


def _jsonable(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Detail as it will read back from JSONB: dates as text, exponent floats (1e+20) as text."""
    text_ = json.dumps(detail or {}, ensure_ascii=False, default=str, allow_nan=False)
    value: dict[str, Any] = json.loads(text_, parse_float=lambda s: s if "e" in s.lower() else float(s))
    return value


def canonical(row: AuditLog) -> bytes:
    """The bytes that are hashed: every column but the hashes, in a fixed form."""
    when = row.time.astimezone(UTC).isoformat(timespec="microseconds")
    body = {"id": row.id, "time": when, "actor_user_id": row.actor_user_id, "actor_name": row.actor_name,
            "action": row.action, "object_type": row.object_type, "object_id": row.object_id,
            "district_code": row.district_code, "ip": row.ip, "detail": row.detail}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def row_hash(prev_hash: bytes, row: AuditLog) -> bytes:
    return sm3_digest(prev_hash + canonical(row))


def record(session: Session, *, actor: Principal | None, action: str, object_type: str | None = None,
           object_id: str | None = None, district_code: str | None = None, detail: dict[str, Any] | None = None,
           ip: str | None = None) -> None:
    """Append one audited action to the chain inside the caller's transaction."""
    record_many(session, [AuditEntry(actor, action, object_type, object_id, district_code, detail, ip)])


@dataclass(frozen=True)
class AuditEntry:
    """One action for `record_many`: the arguments of `record` but the session."""

    actor: Principal | None
    action: str
    object_type: str | None = None
    object_id: str | None = None
    district_code: str | None = None
    detail: dict[str, Any] | None = None
    ip: str | None = None


def _columns(e: AuditEntry) -> dict[str, Any]:
    """The row's columns but id and hashes, fixed when the action is recorded (time, client address)."""
    return dict(time=datetime.now(UTC), actor_user_id=e.actor.user_id if e.actor else None,
                actor_name=e.actor.username if e.actor else None, action=e.action, object_type=e.object_type,
                object_id=None if e.object_id is None else str(e.object_id),
                district_code=e.district_code[:6] if e.district_code else None,
                ip=(e.ip or _client_address.get() or "-")[:45], detail=_jsonable(e.detail))


# The chain head, the ids of the rows to append and the newest checkpoint, read together under the lock.
_HEAD = text("""
    SELECT (SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1) AS row_hash,
           ARRAY(SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) FROM generate_series(1, :n)) AS ids,
           (SELECT max(last_audit_id) FROM audit_checkpoint) AS last_cp""")


def _lock(session: Session) -> None:
    """Take the chain's lock for the rest of the transaction. Its own statement: the caller's next statement then
    sees everything the previous holder committed."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})


def record_many(session: Session, entries: list[AuditEntry]) -> None:
    """Append actions to the chain in order, with one lock, one id fetch and one insert: each row linked to the
    previous one, and a signed checkpoint whenever CHECKPOINT_EVERY rows passed since the last."""
    if entries:
        _lock(session)
        _append(session, [_columns(e) for e in entries])


def _append(session: Session, columns: list[dict[str, Any]]) -> None:
    """Link rows of these columns to the chain head, in order (the caller holds the lock)."""
    head = session.execute(_HEAD, {"n": len(columns)}).one()  # one round trip while the chain is held
    prev = head.row_hash if head.row_hash is not None else GENESIS
    rows = []
    for new_id, values in zip(sorted(head.ids), columns, strict=True):
        row = AuditLog(id=new_id, **values)
        row.prev_hash, row.row_hash = prev, row_hash(prev, row)
        prev = row.row_hash
        rows.append(row)
    session.add_all(rows)
    session.flush()
    if _signer is not None:
        last_cp = head.last_cp or 0
        for row in rows:
            if row.id - last_cp >= CHECKPOINT_EVERY:
                _sign(session, _signer, row.id, row.row_hash, "head")
                last_cp = row.id


# --- actions recorded outside the chain's lock, chained after their commit --------------------------

CHAIN_BATCH = 5000


def record_pending(session: Session, entries: list[AuditEntry]) -> None:
    """Record actions in the caller's transaction without the chain's lock (intake: many writers at once).

    They commit or roll back with the data they audit; `chain_pending` links them into the chain after the
    commit. Until then they are the chain's unchained tail, which `verify_chain` counts."""
    if entries:
        session.add_all([AuditPending(**_columns(e)) for e in entries])
        session.flush()


def chain_pending(session: Session) -> int:
    """Move committed pending actions into the chain, oldest first; returns how many.

    Moves at most CHAIN_BATCH rows; fewer means every action committed before the call is chained. The caller
    commits."""
    _lock(session)
    oldest = select(AuditPending.id).order_by(AuditPending.id).limit(CHAIN_BATCH)
    taken = session.execute(delete(AuditPending).where(AuditPending.id.in_(oldest))
                            .returning(AuditPending.id, *(getattr(AuditPending, c) for c in ACTION_COLUMNS))).all()
    if taken:
        _append(session, [{c: getattr(r, c) for c in ACTION_COLUMNS} for r in sorted(taken, key=lambda r: r.id)])
    return len(taken)


def chain_all_pending(session: Session) -> int:
    """`chain_pending` until nothing committed before the call is left, in the caller's transaction."""
    total = moved = chain_pending(session)
    while moved == CHAIN_BATCH:
        moved = chain_pending(session)
        total += moved
    return total


def _message(kind: str, audit_id: int, digest: bytes) -> bytes:
    return f"onemap-audit-checkpoint|{kind}|{audit_id}|{digest.hex()}".encode()


def _sign(session: Session, signer: AuditSigner, audit_id: int, digest: bytes, kind: str) -> AuditCheckpoint:
    cp = AuditCheckpoint(last_audit_id=audit_id, row_hash=digest, key_id=signer.key_id,
                         signature=sm2_sign(signer.private_hex, _message(kind, audit_id, digest)))
    session.add(cp)
    session.flush()
    return cp


def checkpoint(session: Session, signer: AuditSigner) -> AuditCheckpoint | None:
    """Chain the pending actions, then sign the chain head (the timer calls this); None if nothing new since the
    last one."""
    chain_all_pending(session)
    head = session.execute(select(AuditLog.id, AuditLog.row_hash).order_by(AuditLog.id.desc()).limit(1)).first()
    last_cp = session.scalar(select(func.max(AuditCheckpoint.last_audit_id)))
    if head is None or (last_cp is not None and last_cp >= head.id):
        return None
    return _sign(session, signer, head.id, head.row_hash, "head")


@dataclass
class VerifyReport:
    """Outcome of `verify_chain`: the first broken row (if any) and what was checked."""

    rows: int = 0
    checkpoints: int = 0
    first_broken_id: int | None = None
    reason: str | None = None
    unsigned_tail: int = 0
    # Time of the oldest row after the newest signed checkpoint or not yet chained (None: everything is signed).
    unsigned_since: datetime | None = None
    unchained: int = 0  # actions recorded but not yet linked into the chain (audit_pending)

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None and self.reason is None

    def unsigned_age(self, now: datetime | None = None) -> timedelta | None:
        """How long the unsigned tail has been open: rows this old could be cut off unnoticed."""
        if self.unsigned_since is None:
            return None
        return (now or datetime.now(UTC)) - self.unsigned_since


def _rows(session: Session) -> Iterator[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.id).execution_options(yield_per=2000, populate_existing=True)
    yield from session.scalars(query)


def verify_chain(session: Session, *, public_keys: dict[str, str], full: bool = False) -> VerifyReport:
    """Walk the chain and its checkpoints; `public_keys` maps key id → SM2 public key hex.

    Every link, row hash and checkpoint hash is checked. Signatures: the anchor and the newest
    head checkpoint (which covers every row before it); with `full`, every checkpoint.
    """
    report = VerifyReport()
    by_row: dict[int, list[AuditCheckpoint]] = {}
    for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)
                              .execution_options(populate_existing=True)):
        by_row.setdefault(cp.last_audit_id, []).append(cp)
    report.checkpoints = sum(map(len, by_row.values()))
    newest_head = max((cp.last_audit_id for cps in by_row.values() for cp in cps), default=None)
    prev: bytes | None = None
    seen: set[int] = set()
    for row in _rows(session):
        report.rows += 1
        cps = by_row.get(row.id, [])
        anchors = [cp for cp in cps if cp.row_hash == row.prev_hash and _valid(cp, "anchor", public_keys)]
        heads = [cp for cp in cps if cp not in anchors]
        if prev is None and row.prev_hash != GENESIS and not anchors:
            return _broken(report, row.id, "first row does not link to genesis or a signed anchor (rows deleted)")
        if prev is not None and row.prev_hash != prev:
            return _broken(report, row.id, "prev_hash does not match the previous row (row deleted or inserted)")
        if row_hash(row.prev_hash, row) != row.row_hash:
            return _broken(report, row.id, "row content does not match its hash (row edited or forged)")
        for cp in heads:
            must_sign = full or row.id == newest_head
            if cp.row_hash != row.row_hash or (must_sign and not _valid(cp, "head", public_keys)):
                return _broken(report, row.id, "signed checkpoint does not match this row (chain rewritten)")
            report.unsigned_tail, report.unsigned_since = -1, None
        seen.add(row.id)
        prev = row.row_hash
        report.unsigned_tail += 1
        if report.unsigned_tail and report.unsigned_since is None:
            report.unsigned_since = row.time
    missing = set(by_row) - seen
    if missing:
        return _broken(report, min(missing), "a signed checkpoint refers to a row that is missing (row deleted)")
    return _count_unchained(session, report)


def _count_unchained(session: Session, report: VerifyReport) -> VerifyReport:
    count, oldest = session.execute(select(func.count(), func.min(AuditPending.time))).one()
    report.unchained = int(count)
    if oldest is not None and (report.unsigned_since is None or oldest < report.unsigned_since):
        report.unsigned_since = oldest
    return report


def _valid(cp: AuditCheckpoint, kind: str, public_keys: dict[str, str]) -> bool:
    key = public_keys.get(cp.key_id)
    return key is not None and sm2_verify(key, _message(kind, cp.last_audit_id, cp.row_hash), cp.signature)


def _broken(report: VerifyReport, row_id: int, reason: str) -> VerifyReport:
    report.first_broken_id, report.reason = row_id, reason
    return report


def purge(session: Session, signer: AuditSigner, *, older_than_days: int = RETENTION_DAYS,
          now: datetime | None = None) -> int:
    """Delete rows older than the retention (never fewer than 180 days) and re-anchor the chain."""
    if older_than_days < RETENTION_DAYS:
        raise ValueError(f"retention is at least {RETENTION_DAYS} days")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
    last_old = session.scalar(select(func.max(AuditLog.id)).where(AuditLog.time < cutoff))
    if last_old is None:
        return 0
    # The purge is itself audited first, so at least that row remains to carry the anchor.
    record(session, actor=None, action="audit.purge", detail={"cutoff": cutoff.isoformat(), "last_deleted_id": last_old})
    first_kept = session.execute(select(AuditLog.id, AuditLog.prev_hash).where(AuditLog.id > last_old)
                                 .order_by(AuditLog.id).limit(1)).one()
    session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.last_audit_id <= last_old))
    # Session.execute is typed to return Result; a DELETE returns a CursorResult, which has rowcount.
    deleted = cast(CursorResult[Any], session.execute(delete(AuditLog).where(AuditLog.id <= last_old))).rowcount
    _sign(session, signer, first_kept.id, first_kept.prev_hash, "anchor")
    return int(deleted or 0)
