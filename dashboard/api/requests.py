"""What every REST module does with a request: find the caller, read the JSON body or query string into a
model, run the work in one transaction, answer with a model, and push committed changes to open screens.

Domain refusals (`core.errors.DomainError`) pass through untouched: `dashboard.errors` answers them
with the status of their kind.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accounts.principal import Principal
from dashboard.auth import current_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.read_routing import read_session
from ingest.events import ChangeEvent, announce_bulk_change, publish_changes

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1  # the largest id a PostgreSQL integer column holds
MAX_BIGINT = 2**63 - 1  # the largest id a PostgreSQL bigint column holds (case reports)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def caller() -> Principal:
    """The authenticated principal of this request (the route is behind require_principal)."""
    principal = current_principal()
    assert principal is not None
    return principal


# Text PostgreSQL cannot store (NUL) or UTF-8 cannot encode (an unpaired surrogate, which JSON's \\u escapes allow).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_data() -> Any:
    """The parsed JSON body; 400 invalid.json when the body is not JSON."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid.json", "body must be JSON (Content-Type: application/json)", "请求体须为 JSON")
    return data


def unstorable_text(data: Any) -> str | None:
    """The path (`records[3].patient.name`) of the first key or string holding NUL or an unpaired surrogate."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                shown = _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)  # the path is answered as JSON
                child = f"{path}.{shown}" if path else shown
                if _UNSTORABLE.search(key):
                    return child
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def json_body(model: type[M]) -> M:
    """The JSON body validated into `model` (pydantic errors become 422 in dashboard.errors); then 422
    invalid.text, naming the field, when a key or string the model let through holds a character no text column
    can store. (Intake batches, read with json_data, refuse such records one by one.)"""
    data = json_data()
    body = model.model_validate(data)
    bad = unstorable_text(data)
    if bad is not None:
        raise ApiError(422, "invalid.text", "text must not hold NUL or unpaired surrogate characters",
                       "文本不能包含空字符或无效的 Unicode 字符", field=bad or "body")
    return body


def query_args(model: type[M]) -> M:
    """The query string validated into `model`."""
    return model.model_validate(request.args.to_dict())


def path_id(value: int, what: str, message_zh: str) -> int:
    """`value` when a stored row can have it as id; else 404 `<what>.not_found` without a lookup."""
    if not 1 <= value <= MAX_ID:
        raise ApiError(404, f"{what}.not_found", f"{what} {value} not found", message_zh)
    return value


def in_transaction(fn: Callable[[Session], T]) -> T:
    """`fn(session)` in one transaction: committed when it returns, rolled back when it raises."""
    with services().session_factory() as session, session.begin():
        return fn(session)


def read_transaction(fn: Callable[[Session], T]) -> T:
    """`fn(session)` in one read-only use of the database: a fresh replica when there is one (read_routing)."""
    return read_session(fn)


def listing(query_model: type[BaseModel], page_model: type[BaseModel],
            rows_of: Callable[..., tuple[int, Any]], dicts_of: Callable[[Session, Any], list[dict[str, Any]]],
            ) -> tuple[Response, int]:
    """One page of a filtered list: `rows_of(session, actor=, query=)` gives (total, rows), `dicts_of` shows them."""
    query, actor = query_args(query_model), caller()

    def flow(s: Session) -> dict[str, Any]:
        total, rows = rows_of(s, actor=actor, query=query)
        return {"total": total, "items": dicts_of(s, rows)}

    return render(page_model, read_session(flow))


def render(model: type[BaseModel], data: Any, status: int = 200) -> tuple[Response, int]:
    """`data`, validated by `model`, as the JSON answer with `status`."""
    return jsonify(model.model_validate(data).model_dump(mode="json")), status


def publish_committed(changes: Iterable[dict[str, Any]]) -> None:
    """Announce committed changes to open screens; a Redis failure must not fail the committed request."""
    svc = services()
    changes = list(changes)
    try:
        publish_changes(svc.redis, svc.settings.redis_namespace, [ChangeEvent(**c) for c in changes])
    except Exception as exc:  # committed already: screens catch up on their next refresh
        log.warning("live push of %d changes (%s) failed: %s", len(changes),
                    ", ".join(f"{c.get('kind')} {c.get('id')}" for c in changes[:5]), exc)


def announce_bulk_committed() -> None:
    """After a committed write that publishes no per-record events (reference data): cached answers expire."""
    svc = services()
    try:
        announce_bulk_change(svc.redis, svc.settings.redis_namespace)
    except Exception as exc:  # committed already: cached answers run out by their TTL
        log.warning("bulk change announcement failed: %s", exc)


def publish_one(change: dict[str, Any]) -> None:
    """`publish_committed` for a single change (the `publish` callback the domain services take)."""
    publish_committed([change])
