"""Live push: `GET /api/v1/live` (Server-Sent Events, filtered by the viewer's scope) and its status."""
from __future__ import annotations

import json
import queue
from collections.abc import Generator, Iterator
from typing import Any

from flask import Response, current_app, jsonify, request

from accounts.principal import Principal
from dashboard.api import bp
from dashboard.auth import current_principal, require_principal
from dashboard.extensions import services
from ingest.bus import intake_stats
from ingest.events import events_key, parse_event_id, read_events_after, stream_bounds
from ingest.hub import EventHub, Subscription
from layers.precision import event_for_viewer

HUB_KEY = "onemap.live_hub"
HEARTBEAT_SECONDS = 15
RETRY_MS = 2000


def event_hub() -> EventHub:
    """This process's relay (created and started on first use)."""
    hub = current_app.extensions.get(HUB_KEY)
    if hub is None:
        svc = services()
        hub = current_app.extensions.setdefault(HUB_KEY, EventHub(svc.redis, svc.settings.redis_namespace))
    hub.start()
    return hub


def _visible(principal: Principal, event: dict[str, Any]) -> bool:
    return principal.may_see_institution(event.get("institution_id"), event.get("district_code"))


def _frame(event_id: str, event: dict[str, Any], name: str = "change") -> str:
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n"


EventId = tuple[int, int] | None


def _replay(principal: Principal, redis: Any, ns: str, last: str) -> Generator[str, None, EventId]:
    """The events after Last-Event-ID, or a reset when some are gone; returns the id of the last one sent."""
    sent = parse_event_id(last)
    first, tail = stream_bounds(redis, ns)
    first_id = parse_event_id(first) if first is not None else None  # Redis stream ids always parse
    tail_id = parse_event_id(tail) if tail is not None else None
    gap = sent is None or (first_id is not None and first_id > sent) or tail_id is None or tail_id < sent
    if gap:  # some events are gone: the screen must reload its layers, then follow from the tail
        yield _frame(tail or "0-0", {"reason": "gap"}, "reset")
        return parse_event_id(tail or "0-0")
    cursor = last
    while batch := read_events_after(redis, ns, cursor, count=1000):
        for event_id, event in batch:
            if _visible(principal, event):
                yield _frame(event_id, event_for_viewer(principal, event))
        cursor = batch[-1][0]
        sent = parse_event_id(cursor)
    return sent


BATCH_MAX = 200  # events written in one chunk when a screen's queue holds several


def _drain(sub: Subscription, first: tuple[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """`first` and whatever else is already queued (up to BATCH_MAX): never waits for more."""
    items = [first]
    while len(items) < BATCH_MAX:
        try:
            items.append(sub.items.get_nowait())
        except queue.Empty:
            break
    return items


def _follow(principal: Principal, sub: Subscription, heartbeat: float, sent: EventId) -> Iterator[str]:
    """The relayed events after `sent`, with heartbeats, until the subscription falls behind.

    The events already queued when the screen's thread wakes go out in one write: at 50 events a second to
    20 screens, one write (and one browser task) per event kept the server and the browsers busier than the
    events themselves; a lone event is written at once as before.
    """
    while not sub.lagged:
        try:
            first = sub.items.get(timeout=heartbeat)
        except queue.Empty:
            yield ": heartbeat\n\n"
            continue
        frames = []
        for event_id, event in _drain(sub, first):
            eid = parse_event_id(event_id)
            if sent is not None and eid is not None and eid <= sent:
                continue
            sent = eid
            if _visible(principal, event):
                frames.append(_frame(event_id, event_for_viewer(principal, event)))
        if frames:
            yield "".join(frames)


@bp.get("/live")
@require_principal()
def live():
    principal = current_principal()
    assert principal is not None
    hub = event_hub()
    redis, ns = services().redis, services().settings.redis_namespace
    heartbeat = float(current_app.config.get("ONEMAP_SSE_HEARTBEAT", HEARTBEAT_SECONDS))
    last = (request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "").strip()
    sub = hub.subscribe()  # before the replay, so nothing falls between the two

    def stream() -> Iterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            sent = (yield from _replay(principal, redis, ns, last)) if last else None
            yield from _follow(principal, sub, heartbeat, sent)
            # Fell behind: close; the browser reconnects with Last-Event-ID and replays from the stream.
        finally:
            hub.unsubscribe(sub)

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})


@bp.get("/live/status")
@require_principal()
def live_status():
    svc = services()
    ns = svc.settings.redis_namespace
    hub = event_hub().status()
    first, tail = stream_bounds(svc.redis, ns)
    return jsonify({
        "relay": {"alive": hub.alive, "screens": hub.screens, "last_event_id": hub.last_event_id,
                  "last_event_at": hub.last_event_at, "relayed": hub.relayed, "errors": hub.errors},
        "events": {"first_id": first, "last_id": tail, "length": svc.redis.xlen(events_key(ns))},
        "intake": intake_stats(svc.redis, ns),
        "heartbeat_seconds": float(current_app.config.get("ONEMAP_SSE_HEARTBEAT", HEARTBEAT_SECONDS)),
    })


def _register_docs() -> None:
    from dashboard.api.shapes import LiveQuery, LiveStatus
    from dashboard.openapi import register_operation

    tags = ("live 实时推送",)
    register_operation("/api/v1/live", "get", "实时变更事件流（SSE，按账号范围过滤）", tags=tags, query_model=LiveQuery,
                       response_content={"text/event-stream": {"schema": {"type": "string"}}},
                       description="Server-Sent Events; resumes after Last-Event-ID (header) or last_event_id.")
    register_operation("/api/v1/live/status", "get", "推送中继、事件流与接入队列状态", response_model=LiveStatus,
                       tags=tags)


_register_docs()
