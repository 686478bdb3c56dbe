"""The closed loop of a warning signal: raise (with dedup), push, transitions, assignment, receipts, escalation.

Every change writes a `signal_event` (who, when, why), an audit row (`signal.<action>`) and queues a
live event that is published only after the caller's transaction commits. The caller commits.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import mapping, shape
from sqlalchemy import case, event, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import audit
from accounts.people import actor_label, people
from accounts.principal import CITY_CODE, Principal
from alerting.events import GRADES
from alerting.schemas import STATE_ZH, CitySignalIn, SignalQuery
from core.errors import DomainError
from geo.crs import to_wgs84
from geo.srid import SRID
from store.accounts import AppUser, Org
from store.cases import Disease
from store.inbox import InboxItem
from store.places import Institution, Region
from store.signals import Signal, SignalEvent, SignalReceipt

Publish = Callable[[dict[str, Any]], None]

OPEN_STATES = ("new", "verifying", "suspected", "confirmed", "responding")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"verifying"}),
    "verifying": frozenset({"excluded", "suspected"}),
    "suspected": frozenset({"confirmed", "excluded"}),
    "confirmed": frozenset({"responding"}),
    "responding": frozenset({"closed"}),
    "excluded": frozenset(),
    "closed": frozenset(),
}
ANALYSTS = frozenset({"district_analyst", "district_commander", "city_admin"})
COMMANDERS = frozenset({"district_commander", "city_admin"})
# Who may move a signal into each state: verification by analysts, decisions on events by commanders.
ROLES_FOR_STATE = {"verifying": ANALYSTS, "excluded": ANALYSTS, "suspected": ANALYSTS,
                   "confirmed": COMMANDERS, "responding": COMMANDERS, "closed": COMMANDERS}
CITY_ROLES = frozenset({"city_api", "city_admin"})
STAFF_ROLE = "district_staff"  # inbox address: every commander and analyst of the district


class SignalError(DomainError):
    """A refused signal action: `kind` is not_found | forbidden | conflict | invalid; `code` is stable."""


@dataclass
class Alarm:
    """One raised alarm of a model, ready to become (or update) a signal."""

    model: str
    district_code: str
    region_code: str | None
    disease_code: str | None
    title: str
    as_of: date
    observed: float | None
    threshold: float | None
    window_start: date | None
    params: dict[str, Any]
    evidence: dict[str, Any]
    geometry: Any = None  # shapely geometry in WGS84, or None
    scope_key: str | None = None  # what else identifies the series (institution, syndrome)
    push_institution_ids: list[int] = field(default_factory=list)
    push_region_codes: list[str] = field(default_factory=list)
    origin: str = "model"  # model | department | opinion
    source_dept: str | None = None  # education | pharmacy | opinion for other departments' data

    @property
    def dedup_key(self) -> str:
        parts = [self.model, self.district_code, self.region_code or "-", self.disease_code or "-"]
        return ":".join(parts + ([self.scope_key] if self.scope_key else []))


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- live push after commit

def _queue_publish(session: Session, publish: Publish | None, message: dict[str, Any]) -> None:
    """Send `message` only after the transaction commits (never for a rolled-back change)."""
    if publish is None:
        return
    pending = session.info.setdefault("signal_publish", [])
    if not pending:
        def _after_commit(sess: Session) -> None:
            for fn, msg in sess.info.pop("signal_publish", []):
                fn(msg)

        def _after_rollback(sess: Session) -> None:
            sess.info.pop("signal_publish", None)

        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_rollback", _after_rollback, once=True)
    pending.append((publish, message))


def _live(signal: Signal, action: str, what: str) -> dict[str, Any]:
    point = None
    if signal.geom is not None:
        c = to_shape(signal.geom).representative_point()
        point = [round(c.x, 6), round(c.y, 6)]
    return {"kind": "signal", "id": signal.id, "action": action, "district_code": signal.district_code,
            "region_code": signal.region_code, "geometry": point,
            "fields": {"state": signal.state, "model": signal.model, "disease_code": signal.disease_code,
                       "title": signal.title, "event": what, "fire_count": signal.fire_count}}


@dataclass(frozen=True)
class SignalChange:
    """What happened to a signal, as its `signal_event` and audit row record it."""

    action: str
    from_state: str | None = None
    reason: str | None = None
    data: dict[str, Any] | None = None
    ip: str | None = None


def _record(session: Session, signal: Signal, actor: Principal | None, change: SignalChange, *,
            publish: Publish | None = None) -> SignalEvent:
    """The signal event, its audit row and the queued live event."""
    action, from_state, reason, data = change.action, change.from_state, change.reason, change.data or {}
    ev = SignalEvent(signal_id=signal.id, actor_user_id=actor.user_id if actor and actor.user_id > 0 else None,
                     action=action, from_state=from_state, to_state=signal.state, reason=reason, data=data)
    session.add(ev)
    session.flush()
    audit.record(session, actor=actor, action=f"signal.{action}", object_type="signal", object_id=str(signal.id),
                 district_code=signal.district_code, ip=change.ip,
                 detail={"from": from_state, "to": signal.state, "reason": reason, **data})
    _queue_publish(session, publish, _live(signal, "created" if action in ("created", "received") else "updated",
                                           action))
    return ev


def record_many(session: Session, changes: Sequence[tuple[Signal, SignalChange, Publish | None]]) -> None:
    """`_record` of several system changes (no actor) at once, in order: their signal events in one flush,
    their audit rows in one batch (`audit.record_many`), their live events queued."""
    if not changes:
        return
    session.add_all([SignalEvent(signal_id=s.id, actor_user_id=None, action=c.action, from_state=c.from_state,
                                 to_state=s.state, reason=c.reason, data=c.data or {}) for s, c, _ in changes])
    session.flush()
    audit.record_many(session, [
        audit.AuditEntry(None, f"signal.{c.action}", object_type="signal", object_id=str(s.id),
                         district_code=s.district_code, ip=c.ip,
                         detail={"from": c.from_state, "to": s.state, "reason": c.reason, **(c.data or {})})
        for s, c, _ in changes])
    for s, c, publish in changes:
        _queue_publish(session, publish, _live(s, "created" if c.action in ("created", "received") else "updated",
                                               c.action))


def _inbox(session: Session, signal: Signal, kind: str, title: str, *, role: str | None = None,
           user_id: int | None = None, institution_id: int | None = None) -> None:
    session.add(InboxItem(kind=kind, district_code=signal.district_code, recipient_role=role,
                          recipient_user_id=user_id, recipient_institution_id=institution_id, signal_id=signal.id,
                          title=title[:200]))


# ---------------------------------------------------------------- push to institutions

def _target_institutions(session: Session, signal: Signal, regions: list[str], extra: list[int]) -> list[int]:
    """Institutions in the signal's street(s), or the district's hospitals and CDC for a district-level signal."""
    street_codes = [c for c in regions if len(c) > 6]
    if street_codes:
        clause = or_(Institution.region_code.in_(street_codes), Institution.kind == "cdc")
    else:
        clause = Institution.kind.in_(("hospital", "cdc"))
    ids = set(session.scalars(select(Institution.id).where(Institution.district_code == signal.district_code, clause)))
    return sorted(ids | set(extra))


def push(session: Session, signal: Signal, *, regions: list[str], extra_institution_ids: Sequence[int] = ()) -> int:
    """Receipts (and inbox items) for the institutions the signal concerns that do not have one yet."""
    targets = _target_institutions(session, signal, regions, list(extra_institution_ids))
    have = set(session.scalars(select(SignalReceipt.institution_id).where(SignalReceipt.signal_id == signal.id)))
    new = [i for i in targets if i not in have]
    for inst_id in new:
        session.add(SignalReceipt(signal_id=signal.id, institution_id=inst_id))
        _inbox(session, signal, "signal.new", signal.title, institution_id=inst_id)
    session.flush()
    return len(new)


# ---------------------------------------------------------------- raising (models)

def _open_signal(session: Session, key: str, kind: str = "event") -> Signal | None:
    return session.scalar(select(Signal).where(Signal.dedup_key == key, Signal.kind == kind,
                                               Signal.state.in_(OPEN_STATES))
                          .order_by(Signal.id.desc()).limit(1).with_for_update())


def _alarm_row(alarm: Alarm, now: datetime, *, kind: str, verify_due_at: datetime | None) -> Signal:
    geom = from_shape(alarm.geometry, srid=SRID) if alarm.geometry is not None else None
    return Signal(dedup_key=alarm.dedup_key, origin=alarm.origin, source_dept=alarm.source_dept, model=alarm.model,
                  disease_code=alarm.disease_code, region_code=alarm.region_code, district_code=alarm.district_code,
                  state="new", title=alarm.title[:200], observed=alarm.observed, threshold=alarm.threshold,
                  window_start=alarm.window_start, window_end=alarm.as_of, params=alarm.params,
                  evidence=alarm.evidence, geom=geom, fire_count=1, first_fired_at=now, last_fired_at=now,
                  verify_due_at=verify_due_at, kind=kind)


def _refire(current: Signal, alarm: Alarm, now: datetime) -> SignalChange:
    current.observed, current.threshold, current.window_end = alarm.observed, alarm.threshold, alarm.as_of
    current.evidence, current.params = alarm.evidence, alarm.params
    current.fire_count += 1
    current.last_fired_at = now
    if alarm.geometry is not None:
        current.geom = from_shape(alarm.geometry, srid=SRID)
    return SignalChange("refired", from_state=current.state,
                        data={"as_of": alarm.as_of.isoformat(), "observed": alarm.observed,
                              "threshold": alarm.threshold, "fire_count": current.fire_count})


def decide_alarm(current: Signal | None, alarm: Alarm, *, dedup_days: int, now: datetime, kind: str = "event",
                 verify_due_at: datetime | None = None) -> tuple[str, Signal, SignalChange | None]:
    """What an alarm does to the open signal of its key: (outcome, signal, change to record) — 'unchanged' (the open
    signal, no change), 'refired' (the open signal, updated) or 'created' (a new row of `kind`, not yet added)."""
    if current is not None and current.window_end is not None and \
            0 <= (alarm.as_of - current.window_end).days <= dedup_days:
        if alarm.as_of == current.window_end:
            if current.evidence != alarm.evidence:  # late reports changed the picture of the same day
                current.evidence, current.observed, current.threshold = alarm.evidence, alarm.observed, alarm.threshold
            return "unchanged", current, None
        return "refired", current, _refire(current, alarm, now)
    if current is not None and alarm.as_of < (current.window_end or alarm.as_of):
        return "unchanged", current, None  # an older day re-run: the open signal already covers it
    created = SignalChange("created", data={"as_of": alarm.as_of.isoformat(), "model": alarm.model})
    return "created", _alarm_row(alarm, now, kind=kind, verify_due_at=verify_due_at), created


def raise_alarm(session: Session, alarm: Alarm, *, verify_hours: float, dedup_days: int,
                now: datetime | None = None, publish: Publish | None = None,
                kind: str = "event") -> tuple[Signal, str]:
    """Open a signal for the alarm, or update the open one with the same key: 'created' | 'refired' | 'unchanged'.

    kind "alarm" (the runner) keeps the alarm as evidence only: no push, inbox item or live event — its
    warning event (`alerting.event_loop`) enters the loop. kind "event" makes the alarm itself an event.
    """
    now = now or utcnow()
    regions = alarm.push_region_codes or ([alarm.region_code] if alarm.region_code else [])
    notify = kind == "event"
    publish = publish if notify else None
    current = _open_signal(session, alarm.dedup_key, kind)
    outcome, signal, change = decide_alarm(current, alarm, dedup_days=dedup_days, now=now, kind=kind,
                                           verify_due_at=now + timedelta(hours=verify_hours) if notify else None)
    if change is None:
        return signal, outcome
    if outcome == "created":
        session.add(signal)
        session.flush()
    if notify:
        push(session, signal, regions=regions, extra_institution_ids=alarm.push_institution_ids)
        if outcome == "created":
            _inbox(session, signal, "signal.new", signal.title, role=STAFF_ROLE)
    _record(session, signal, None, change, publish=publish)
    return signal, outcome


# ---------------------------------------------------------------- scope and loading

def visible_clause(actor: Principal) -> Any:
    """Signals the actor may see: city all, district its own, institutions those pushed to them."""
    if actor.role == "institution_user":
        pushed = select(SignalReceipt.signal_id).where(SignalReceipt.institution_id == actor.institution_id)
        return Signal.id.in_(pushed)
    if actor.is_city:
        return true()
    return Signal.district_code == actor.district_code


def load_signal(session: Session, *, actor: Principal, signal_id: int, lock: bool = False) -> Signal:
    """A signal the actor may see (404 otherwise, so ids of other districts do not leak)."""
    stmt = select(Signal).where(Signal.id == signal_id, visible_clause(actor))
    sig = session.scalar(stmt.with_for_update() if lock else stmt)
    if sig is None:
        raise SignalError("not_found", "signal.not_found", f"signal {signal_id} not found", "信号不存在")
    return sig


def allowed_transitions(actor: Principal, signal: Signal) -> list[str]:
    """The states this actor may move the signal to now."""
    return sorted(s for s in TRANSITIONS[signal.state] if actor.role in ROLES_FOR_STATE[s]
                  and actor.may_see_district(signal.district_code))


# ---------------------------------------------------------------- actions

def transition(session: Session, *, actor: Principal, signal_id: int, to: str, reason: str,
               ip: str | None = None, publish: Publish | None = None) -> Signal:
    """Move a signal along its lifecycle; refuses moves the state machine or the actor's role does not allow."""
    signal = load_signal(session, actor=actor, signal_id=signal_id, lock=True)
    if to not in TRANSITIONS[signal.state]:
        allowed = "、".join(STATE_ZH[s] for s in sorted(TRANSITIONS[signal.state])) or "无"
        raise SignalError("conflict", "signal.invalid_transition", f"cannot go from {signal.state} to {to}",
                          f"信号当前为{STATE_ZH[signal.state]}，不能变为{STATE_ZH.get(to, to)}（可变为：{allowed}）", "to")
    if actor.role not in ROLES_FOR_STATE[to]:
        raise SignalError("forbidden", "signal.forbidden_role", f"role {actor.role} may not move a signal to {to}",
                          f"当前角色无权将信号变为{STATE_ZH[to]}", "to")
    from_state = signal.state
    signal.state = to
    _record(session, signal, actor, SignalChange("transition", from_state=from_state, reason=reason, ip=ip),
            publish=publish)
    return signal


def assign(session: Session, *, actor: Principal, signal_id: int, user_id: int, reason: str | None = None,
           ip: str | None = None, publish: Publish | None = None) -> Signal:
    """Give a signal to a commander or analyst of its district (or the city); they get an inbox item."""
    if actor.role not in ANALYSTS:
        raise SignalError("forbidden", "signal.forbidden_role", f"role {actor.role} may not assign signals",
                          "当前角色无权指派信号")
    signal = load_signal(session, actor=actor, signal_id=signal_id, lock=True)
    if signal.state not in OPEN_STATES:
        raise SignalError("conflict", "signal.closed", "signal is no longer open", "信号已结束，不能指派", "user_id")
    row = session.execute(select(AppUser, Org).join(Org, Org.id == AppUser.org_id).where(AppUser.id == user_id)).first()
    if row is None or not row[0].is_active or row[0].role not in ANALYSTS or \
            row[1].region_code[:6] not in (signal.district_code, CITY_CODE):
        raise SignalError("invalid", "signal.bad_assignee",
                          f"user {user_id} is not an active analyst or commander of {signal.district_code}",
                          "被指派人须为本区在岗的分析员或指挥员", "user_id")
    previous = signal.assignee_user_id
    signal.assignee_user_id = user_id
    _inbox(session, signal, "signal.assigned", f"指派给您：{signal.title}", user_id=user_id)
    _record(session, signal, actor, SignalChange("assigned", from_state=signal.state, reason=reason,
                                                 data={"user_id": user_id, "previous_user_id": previous}, ip=ip),
            publish=publish)
    return signal


def acknowledge(session: Session, *, actor: Principal, signal_id: int, ip: str | None = None,
                publish: Publish | None = None) -> SignalReceipt:
    """An institution signs for a signal pushed to it (已签收); repeating it changes nothing."""
    if actor.role != "institution_user" or actor.institution_id is None:
        raise SignalError("forbidden", "signal.ack_institution_only", "only institutions acknowledge receipt",
                          "仅接收信号的机构可签收")
    signal = load_signal(session, actor=actor, signal_id=signal_id)
    receipt = session.scalar(select(SignalReceipt).where(SignalReceipt.signal_id == signal.id,
                                                         SignalReceipt.institution_id == actor.institution_id)
                             .with_for_update())
    assert receipt is not None  # visible_clause admits institutions only through a receipt
    if receipt.acknowledged_at is None:
        receipt.acknowledged_at, receipt.ack_user_id = utcnow(), actor.user_id
        _record(session, signal, actor, SignalChange("acknowledged", from_state=signal.state,
                                                     data={"institution_id": actor.institution_id}, ip=ip),
                publish=publish)
    return receipt


def check_overdue(session: Session, now: datetime, *, publish: Publish | None = None) -> list[int]:
    """Escalate new signals whose verification did not start in time to the district commanders (督办)."""
    rows = list(session.scalars(
        select(Signal).where(Signal.kind == "event", Signal.state == "new", Signal.verify_due_at < now,
                             Signal.escalated_at.is_(None))
        .order_by(Signal.verify_due_at).with_for_update(skip_locked=True)))
    for signal in rows:
        signal.escalated_at = now
        late = now - signal.verify_due_at if signal.verify_due_at else timedelta(0)
        _inbox(session, signal, "signal.escalated", f"超时未核实：{signal.title}", role="district_commander")
        _record(session, signal, None, SignalChange(
            "escalated", from_state=signal.state,
            reason=f"核实时限已过 {late.total_seconds() / 3600:.1f} 小时，已上报区级指挥",
            data={"verify_due_at": signal.verify_due_at.isoformat() if signal.verify_due_at else None}),
            publish=publish)
    return [s.id for s in rows]


# ---------------------------------------------------------------- signals from the city

def _city_geometry(data: CitySignalIn) -> Any:
    if data.geometry is None:
        return None
    geo = data.geometry.model_dump()
    try:
        geom = shape(geo)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise SignalError("invalid", "geometry.invalid", f"geometry: {exc}", "几何对象无效", "geometry") from None
    if data.crs != "WGS84":
        from shapely.ops import transform

        geom = transform(lambda x, y, z=None: to_wgs84(x, y, data.crs), geom)
    if geom.is_empty or not geom.is_valid:
        raise SignalError("invalid", "geometry.invalid", "geometry is empty or invalid", "几何对象无效", "geometry")
    b = geom.bounds
    if not (-180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90):
        raise SignalError("invalid", "geometry.out_of_range", "coordinates out of range", "坐标超出范围", "geometry")
    return from_shape(geom, srid=SRID)


def receive_city_signal(session: Session, *, actor: Principal, data: CitySignalIn,
                        ip: str | None = None) -> tuple[Signal, bool]:
    """Keep a city signal as an alarm (origin 'city'); the same city id again returns the existing row and False.

    The alarm enters the loop through its warning event (`alerting.city_fusion.fuse_city_signal`).
    """
    if actor.role not in CITY_ROLES:
        raise SignalError("forbidden", "signal.city_only", "only the city platform pushes signals",
                          "仅市级平台可下发信号")
    existing = session.scalar(select(Signal).where(Signal.external_id == data.signal_id))
    if existing is not None:
        return existing, False
    if session.scalar(select(Region.code).where(Region.code == data.district_code, Region.level == "district")) is None:
        raise SignalError("invalid", "region.unknown_district", f"unknown district {data.district_code}",
                          "区县代码不存在", "district_code")
    if data.region_code and data.region_code != data.district_code:
        district = session.scalar(select(Region.district_code).where(Region.code == data.region_code))
        if district != data.district_code:
            raise SignalError("invalid", "region.unknown", f"region {data.region_code} is not in {data.district_code}",
                              "区域代码不存在或不属于该区", "region_code")
    if data.disease_code and session.get(Disease, data.disease_code) is None:
        raise SignalError("invalid", "disease.unknown", f"unknown disease {data.disease_code}", "病种代码不存在",
                          "disease_code")
    now = utcnow()
    evidence = {**data.evidence, "description": data.description,
                "issued_at": data.issued_at.isoformat() if data.issued_at else None, "model": data.model}
    signal = Signal(dedup_key=f"city:{data.signal_id}", origin="city", external_id=data.signal_id, model=data.model,
                    disease_code=data.disease_code, region_code=data.region_code or data.district_code,
                    district_code=data.district_code, state="new", title=data.title, observed=data.observed,
                    threshold=data.threshold, window_start=data.window_start, window_end=data.window_end,
                    params={}, evidence=evidence, geom=_city_geometry(data), fire_count=1, first_fired_at=now,
                    last_fired_at=now, kind="alarm")
    try:
        with session.begin_nested():
            session.add(signal)
            session.flush()
    except IntegrityError:  # the same city id arrived concurrently
        existing = session.scalar(select(Signal).where(Signal.external_id == data.signal_id))
        if existing is None:
            raise
        return existing, False
    _record(session, signal, actor, SignalChange("received", data={"external_id": data.signal_id}, ip=ip))
    return signal, True


# ---------------------------------------------------------------- reading

def list_signals(session: Session, *, actor: Principal, query: SignalQuery) -> tuple[int, list[Signal]]:
    """Signals in the actor's scope matching the filters, newest first."""
    conds = _signal_filters(actor, query)
    total = session.scalar(select(func.count()).select_from(Signal).where(*conds)) or 0
    order = [Signal.last_fired_at.desc(), Signal.id.desc()]
    if query.sort == "grade":  # the duty officer's desk: the most severe first, ungraded alarms last
        order.insert(0, case({g: GRADES.index(g) + 1 for g in GRADES}, value=Signal.grade, else_=0).desc())
    rows = session.scalars(select(Signal).where(*conds).order_by(*order).limit(query.limit).offset(query.offset))
    return int(total), list(rows)


def _signal_filters(actor: Principal, query: SignalQuery) -> list[Any]:
    """The WHERE conditions of `list_signals`: the actor's scope and the query's filters."""
    conds: list[Any] = [visible_clause(actor)]
    if query.state:
        conds.append(Signal.state.in_(query.state.split(",")))
    if query.open_only:
        conds.append(Signal.state.in_(OPEN_STATES))
    if query.kind:
        conds.append(Signal.kind == query.kind)
    elif not (query.model or query.event_id):  # events by default; a model or event filter reaches the alarms
        conds.append(Signal.kind == "event")
    if query.event_id:
        conds.append(Signal.event_id == query.event_id)
    for column, value in ((Signal.model, query.model), (Signal.disease_code, query.disease_code),
                          (Signal.region_code, query.region_code), (Signal.origin, query.origin)):
        if value:
            conds.append(column == value)
    if query.since:
        conds.append(Signal.window_end >= query.since)
    if query.until:
        conds.append(Signal.window_end <= query.until)
    return conds


def _names(session: Session, signals: list[Signal]) -> tuple[dict[str, str], dict[str, str]]:
    diseases = {s.disease_code for s in signals if s.disease_code}
    regions = {s.region_code for s in signals if s.region_code}
    dn = dict(session.execute(select(Disease.code, Disease.name).where(Disease.code.in_(diseases))).all()) \
        if diseases else {}
    rn = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(regions))).all()) \
        if regions else {}
    return dn, rn


def signal_dicts(session: Session, signals: list[Signal]) -> list[dict[str, Any]]:
    """List rows with disease / region names and receipt counts."""
    dn, rn = _names(session, signals)
    ids = [s.id for s in signals]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        for sid, total, acked in session.execute(
                select(SignalReceipt.signal_id, func.count(), func.count(SignalReceipt.acknowledged_at))
                .where(SignalReceipt.signal_id.in_(ids)).group_by(SignalReceipt.signal_id)):
            counts[sid] = (total, acked)
    out = []
    for s in signals:
        total, acked = counts.get(s.id, (0, 0))
        out.append({c: getattr(s, c) for c in (
            "id", "origin", "model", "state", "title", "disease_code", "region_code", "district_code", "external_id",
            "observed", "threshold", "window_start", "window_end", "fire_count", "first_fired_at", "last_fired_at",
            "verify_due_at", "escalated_at", "assignee_user_id", "kind", "grade", "event_id")}
                   | {"disease_name": dn.get(s.disease_code or ""), "region_name": rn.get(s.region_code or ""),
                      "receipts_total": total, "receipts_acknowledged": acked})
    return out


def signal_detail(session: Session, *, actor: Principal, signal_id: int) -> dict[str, Any]:
    """One signal with its evidence, geometry, event timeline, receipts and the actions open to the actor."""
    signal = load_signal(session, actor=actor, signal_id=signal_id)
    base = signal_dicts(session, [signal])[0]
    rows = list(session.scalars(select(SignalEvent).where(SignalEvent.signal_id == signal.id)
                                .order_by(SignalEvent.time, SignalEvent.id)))
    users = people(session, (e.actor_user_id for e in rows))  # display name and organisation, not the login
    events = [{"id": e.id, "time": e.time, "actor_user_id": e.actor_user_id,
               "actor_name": actor_label(users, e.actor_user_id, None),
               "action": e.action, "from_state": e.from_state, "to_state": e.to_state, "reason": e.reason,
               "data": e.data or {}}
              for e in rows]
    receipts = [{"institution_id": r.institution_id, "institution_code": code, "institution_name": name,
                 "pushed_at": r.pushed_at, "acknowledged_at": r.acknowledged_at, "ack_user_id": r.ack_user_id}
                for r, code, name in session.execute(
                    select(SignalReceipt, Institution.code, Institution.name)
                    .join(Institution, Institution.id == SignalReceipt.institution_id)
                    .where(SignalReceipt.signal_id == signal.id).order_by(Institution.code))]
    if actor.role == "institution_user":
        receipts = [r for r in receipts if r["institution_id"] == actor.institution_id]
    geometry = dict(mapping(to_shape(signal.geom))) if signal.geom is not None else None
    alarms = signal_dicts(session, list(session.scalars(
        select(Signal).where(Signal.event_id == signal.id).order_by(Signal.window_end, Signal.id).limit(200)))) \
        if signal.kind == "event" and actor.role != "institution_user" else []
    return base | {"alarms": alarms, "params": signal.params or {}, "evidence": signal.evidence or {}, "geometry": geometry,
                   "events": events, "receipts": receipts, "allowed_transitions": allowed_transitions(actor, signal)}


def _inbox_clause(actor: Principal) -> Any:
    mine = [InboxItem.recipient_user_id == actor.user_id]
    if actor.role == "institution_user" and actor.institution_id is not None:
        mine.append(InboxItem.recipient_institution_id == actor.institution_id)
    elif actor.role in ANALYSTS:
        roles = [actor.role, STAFF_ROLE]
        where_ok = true() if actor.is_city else InboxItem.district_code == actor.district_code
        mine.append((InboxItem.recipient_role.in_(roles)) & where_ok)
    return or_(*mine)


def inbox(session: Session, *, actor: Principal, unread_only: bool = False, limit: int = 50) -> dict[str, Any]:
    """The actor's inbox: items addressed to them, their role in their district, or their institution."""
    clause = _inbox_clause(actor)
    unread = session.scalar(select(func.count()).select_from(InboxItem).where(clause, InboxItem.read_at.is_(None)))
    stmt = select(InboxItem).where(clause)
    if unread_only:
        stmt = stmt.where(InboxItem.read_at.is_(None))
    items = session.scalars(stmt.order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit))
    return {"unread": int(unread or 0), "items": [
        {"id": i.id, "kind": i.kind, "signal_id": i.signal_id, "title": i.title, "created_at": i.created_at,
         "read_at": i.read_at} for i in items]}


def mark_read(session: Session, *, actor: Principal, item_id: int) -> InboxItem:
    """Mark one inbox item read (by whoever of its addressees opens it first)."""
    item = session.scalar(select(InboxItem).where(InboxItem.id == item_id, _inbox_clause(actor)))
    if item is None:
        raise SignalError("not_found", "inbox.not_found", f"inbox item {item_id} not found", "消息不存在")
    if item.read_at is None:
        item.read_at, item.read_by_user_id = utcnow(), actor.user_id
    return item
