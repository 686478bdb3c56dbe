"""The web side of read routing (config/replicas.py): reads of a request go to a fresh replica, unless the
caller wrote within the lag bound (read-your-writes: this request, or any process, through Redis).

A request writes when it executes a data-changing statement on the primary; a successful non-GET request that
wrote marks its principal, whose reads then use the primary for `REPLICA_MAX_LAG_SECONDS`.
Without replicas nothing is installed and `read_session` is a transaction on the primary, as before.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from accounts.principal import Principal
from dashboard.auth import current_principal
from dashboard.extensions import EXTENSION_KEY, services

T = TypeVar("T")
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE")
_READ_METHODS = ("GET", "HEAD", "OPTIONS")


def who(principal: Principal) -> str:
    """The read-your-writes key of a principal (every token and session of a user share it)."""
    return f"u{principal.user_id}"


def _recent_writer() -> bool:
    if g.get("onemap_wrote") and request.method not in _READ_METHODS:  # a GET's bookkeeping (token use) is no write
        return True
    writes, principal = services().writes, current_principal()
    return writes is not None and principal is not None and writes.recent(who(principal))


def read_session(fn: Callable[[Session], T]) -> T:
    """`fn(session)` in one read transaction: on a fresh replica, else (or for a recent writer) the primary."""
    svc = services()
    if svc.reads is None or not svc.reads.enabled:
        with svc.session_factory() as session, session.begin():
            return fn(session)
    def traced(session: Session) -> T:
        g.onemap_read = "primary" if session.get_bind() is svc.engine else "replica"
        return fn(session)

    return svc.reads.read(traced, recent_writer=_recent_writer())


@contextmanager
def read_only() -> Iterator[Session]:
    """A session for reads (Dash callbacks, the briefing): on a fresh replica, else the primary."""
    svc = services()
    if svc.reads is None or not svc.reads.enabled:
        with svc.session_factory() as session:
            yield session
        return
    with svc.reads.session(recent_writer=_recent_writer()) as session:
        g.onemap_read = "primary" if session.get_bind() is svc.engine else "replica"
        yield session


def _note_write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if has_request_context() and statement.lstrip()[:8].upper().startswith(_WRITES):
        g.onemap_wrote = True


def _mark_writer(response: Response) -> Response:
    if "onemap_read" in g:  # where this request's reads went (operators, the failover tests)
        response.headers["X-Onemap-Read"] = g.onemap_read
    if g.get("onemap_wrote") and request.method not in _READ_METHODS and response.status_code < 400:
        writes, principal = services().writes, current_principal()
        if writes is not None and principal is not None:
            writes.mark(who(principal))
    return response


def install_read_your_writes(app: Flask) -> None:
    """With replicas: note data-changing statements of each request, mark its principal after a write."""
    svc = app.extensions[EXTENSION_KEY]
    if svc.writes is None:
        return
    event.listen(svc.engine, "before_cursor_execute", _note_write)
    app.after_request(_mark_writer)
