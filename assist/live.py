"""Live push of 协查 changes: after a request's state changes and the transaction commits, open screens hear of it.

The change (kind "assist") carries only codes, the state and the place point — never the reason, the facts or
personal data. It is addressed to the district holding this copy, so only that district's screens (and the
city's) receive it. Nothing is announced for a rolled-back change.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from geoalchemy2.shape import to_shape
from sqlalchemy import event
from sqlalchemy.orm import Session

from store.assist import AssistRequest

KIND = "assist"
PENDING = "assist_publish"
Publish = Callable[[dict[str, Any]], None]
Action = Literal["created", "updated"]


def change_of(req: AssistRequest, action: Action = "updated", *, event_kind: str | None = None) -> dict[str, Any]:
    """The change event (ingest.events.ChangeEvent fields) announcing this copy of the request."""
    geometry = None
    if req.place is not None:
        shape = to_shape(req.place)
        geometry = [shape.x, shape.y]
    return {"kind": KIND, "id": req.id, "action": action,
            "district_code": req.from_district if req.direction == "out" else req.to_district,
            "geometry": geometry,
            "fields": {"request_no": req.request_no, "direction": req.direction, "state": req.state,
                       "escalation_level": req.escalation_level, "event": event_kind or req.state}}


def _after_commit(session: Session) -> None:
    for publish, message in session.info.pop(PENDING, []):
        publish(message)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def announce(session: Session, publish: Publish | None, req: AssistRequest, action: Action = "updated",
             *, event_kind: str | None = None) -> None:
    """Queue the change of `req`; `publish` runs with it once the session's transaction has committed."""
    if publish is None:
        return
    pending = session.info.setdefault(PENDING, [])
    if not pending:
        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_rollback", _after_rollback, once=True)
    pending.append((publish, change_of(req, action, event_kind=event_kind)))
