"""Audit rows for what a request reads or is refused: who, what, which scope, when and from where.

Every row gets the client address from the request (see security_headers: ProxyFix + PROXY_HOPS).
Reads of case data are audited once per (user, what, filters, address) and window
(`AUDIT_READ_WINDOW_SECONDS`, default 300 s), so a live screen that refreshes every few seconds
leaves one row per window instead of thousands; denials are always audited. Concurrent reads are
written by group commit (store.group_commit): one transaction records every row waiting, and each
request returns once its own row is committed. Reads are recorded outside the chain's lock, as intake's
actions are (accounts.audit.record_pending), and the process's chainer links them into the chain within
about a second: with several web processes, each new question's read no longer queues on the one lock.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import current_app

from accounts import audit
from accounts.audit_chainer import chainer_for
from accounts.principal import Principal
from dashboard.extensions import services
from security.sm3 import sm3_hex
from store.group_commit import GroupCommit

log = logging.getLogger(__name__)
APPENDER_KEY = "onemap.audit_reads"


def principal_scope(principal: Principal) -> dict[str, Any]:
    """The scope the caller read with (their role's region / institution)."""
    return {"role": principal.role, "district_code": principal.district_code,
            "institution_id": principal.institution_id}


def _first_in_window(principal: Principal, action: str, what: dict[str, Any]) -> bool:
    """True unless the same read by the same user from the same address was audited within the window."""
    svc = services()
    window = svc.settings.audit_read_window_seconds
    if window <= 0:
        return True
    fingerprint = sm3_hex(json.dumps([action, what, audit.client_address()], sort_keys=True, default=str).encode())
    key = f"{svc.settings.redis_namespace}:audit-read:{principal.user_id}:{fingerprint[:32]}"
    try:
        return bool(svc.redis.set(key, b"1", nx=True, ex=window))
    except redis.RedisError:
        return True  # without Redis every read is audited


def audit_read(principal: Principal, action: str, *, object_type: str, object_id: str | None = None,
               district_code: str | None = None, filters: dict[str, Any] | None = None,
               detail: dict[str, Any] | None = None) -> None:
    """Record that `principal` read case or personal data (`action` e.g. "case.read")."""
    what = {"object_type": object_type, "object_id": object_id, "filters": filters or {}}
    if not _first_in_window(principal, action, what):
        return
    _appender().submit({"actor": principal, "action": action, "object_type": object_type, "object_id": object_id,
                        "district_code": district_code or principal.district_code, "ip": audit.client_address() or "-",
                        "detail": {"scope": principal_scope(principal), "filters": filters or {}, **(detail or {})}})


def _appender() -> GroupCommit[dict[str, Any]]:
    """This app's group commit of read audit rows (one per app: its own database)."""
    extensions = current_app.extensions
    found = extensions.get(APPENDER_KEY)
    if found is None:
        session_factory = services().session_factory

        def write(rows: list[dict[str, Any]]) -> None:
            with session_factory() as db:
                audit.record_pending(db, [audit.AuditEntry(**row) for row in rows])
                db.commit()
            chainer_for(session_factory).poke()

        found = extensions.setdefault(APPENDER_KEY, GroupCommit(write))
    return found


def audit_denied(principal: Principal | None, action: str, *, object_type: str | None = None,
                 object_id: str | None = None, district_code: str | None = None,
                 detail: dict[str, Any] | None = None) -> None:
    """Record a refused access (out of scope, no right to personal data); never raises."""
    try:
        with services().session_factory() as db:
            audit.record(db, actor=principal, action=action, object_type=object_type, object_id=object_id,
                         district_code=district_code,
                         detail={"scope": principal_scope(principal) if principal else None, **(detail or {})})
            db.commit()
    except Exception:  # the refusal stands even when it cannot be written down
        log.exception("could not audit %s", action)
