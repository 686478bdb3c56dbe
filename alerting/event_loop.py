"""Warning events in the database: a run's alarms fused into events (`alerting.events.EventBook`), graded,
stored as `signal` rows of kind 'event' (origin 'fusion'), and entered into the loop.

An event below `warn.events.inbox_min_grade` is listed but neither pushed nor put in the inbox; when it
reaches that grade it is pushed to the institutions of its streets and put in the district's inbox, and its
verification clock starts. Every grade rise is a `signal_event` ("graded", from / to grade) and an audit row;
a rise of an event already in the inbox puts a new inbox item ("signal.upgraded") there. The caller commits.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.ops import unary_union
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.config import WarnConfig
from alerting.event_facts import disease_infos, fact_of, populations
from alerting.events import GRADE_ZH, GROUP_ZH, AlarmFact, EventBook, EventState, explanation, grade, grade_rank
from alerting.service import STAFF_ROLE, Alarm, Publish, SignalChange, _inbox, push, record_many, utcnow
from geo.srid import SRID
from store.places import Region
from store.signals import Signal


@dataclass
class FusionReport:
    created: int = 0
    graded: int = 0  # grade rises
    notified: int = 0  # events that reached the inbox in this run
    event_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Fusion:
    """One fusion pass: where it writes, what it looks up, its settings and what it reports."""

    session: Session
    book: EventBook
    rows: dict[int, Signal]  # event rows by id; saved events are added
    names: dict[str, str]  # region names of the touched events' places
    diseases: dict[str, Any]
    geoms: dict[int, Any]  # alarm geometry by alarm row id
    alarm_rows: dict[int, Signal]
    cfg: WarnConfig
    now: datetime
    publish: Publish | None
    report: FusionReport
    as_of: date


def _state(sig: Signal) -> EventState:
    f = (sig.evidence or {}).get("fusion") or {}
    # window_end is nullable in the table but set on every event row, hence the ignore below.
    return EventState(district=sig.district_code, place=f.get("place") or sig.region_code or sig.district_code,
                      group=f.get("group") or sig.disease_code or "syn:ill",
                      first_day=sig.window_start or sig.window_end, last_day=sig.window_end,  # type: ignore[arg-type]
                      facts=[AlarmFact.from_json(x) for x in f.get("facts") or []], grade=sig.grade, id=sig.id,
                      reached_day=date.fromisoformat(f["reached_day"]) if f.get("reached_day") else None,
                      history=[(date.fromisoformat(d), g) for d, g in f.get("history") or []])


def _open_events(session: Session, district_code: str | None, since: date) -> list[Signal]:
    stmt = select(Signal).where(Signal.kind == "event", Signal.origin == "fusion", Signal.window_end >= since)
    if district_code:
        stmt = stmt.where(Signal.district_code == district_code)
    return list(session.scalars(stmt.order_by(Signal.id).with_for_update()))


def _names(session: Session, codes: set[str]) -> dict[str, str]:
    return dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all()) if codes else {}


def fuse_alarms(session: Session, raised: Sequence[tuple[Alarm, Signal]], *, as_of: date, district_code: str | None,
                cfg: WarnConfig, now: datetime | None = None, publish: Publish | None = None) -> FusionReport:
    """File the run's alarms (with their alarm rows) into events and move the events along; caller commits."""
    now, ecfg, report = now or utcnow(), cfg.events, FusionReport()
    if not raised:
        return report
    first = min(a.as_of for a, _ in raised)
    rows = {s.id: s for s in _open_events(session, district_code,
                                          first - timedelta(days=ecfg.episode_gap_days + ecfg.evidence_days))}
    diseases = disease_infos(session)
    book = EventBook(ecfg, diseases, populations(session, district_code), [_state(s) for s in rows.values()])
    before = {id(e): (len(e.facts), e.grade, e.last_day) for e in book.events}
    facts: dict[date, list[AlarmFact]] = {}
    geoms: dict[int, Any] = {}
    for alarm, sig in raised:
        facts.setdefault(alarm.as_of, []).append(fact_of(alarm, sig.id))
        geoms[sig.id] = alarm.geometry
    touched: dict[int, EventState] = {}
    for day in sorted(facts):
        for ev in book.add_day(facts[day], day):
            touched[id(ev)] = ev
    run = _Fusion(session, book, rows, _names(session, {e.place for e in touched.values()}), diseases, geoms,
                  {sig.id: sig for _, sig in raised}, cfg, now, publish, report, as_of)
    saved = [(ev, before.get(id(ev), (0, None, None))[1]) for ev in touched.values()
             if before.get(id(ev)) != (len(ev.facts), ev.grade, ev.last_day)]
    written = [(ev, old, *_row(run, ev)) for ev, old in saved]
    session.flush()  # the new event rows get their ids in one go
    changes = []
    for ev, old, sig, created, reasons in written:  # ids, links to the alarm rows, report counters
        change = _file(run, ev, old, sig, created, reasons)
        if change is not None:
            changes.append(change)
    record_many(session, changes)
    for ev, old, sig, created, _ in written:
        _notify(session, sig, ev, old, created, cfg, run.now)
        if _reached(ev.grade, cfg) and not _reached(old, cfg):
            report.notified += 1
    return report


def _row(run: _Fusion, ev: EventState) -> tuple[Signal, bool, list[str]]:
    """The event's row, created (not yet flushed) or updated, whether it is new, and its grade's reasons."""
    session, rows, cfg, now = run.session, run.rows, run.cfg, run.now
    info = run.diseases.get(ev.disease or "")
    g = grade([f for f in ev.facts if f.day > ev.last_day - timedelta(days=cfg.events.evidence_days)] or ev.facts,
              disease=info, population=run.book.population_of(ev), cfg=cfg.events)
    place_name = run.names.get(ev.place, ev.place)
    what = info.name if info else GROUP_ZH.get(ev.group[4:], ev.group)
    lines = explanation(ev, g, disease_name=info.name if info else None, place_name=place_name)
    shapes = [shape for f in ev.facts if f.alarm_id is not None and (shape := run.geoms.get(f.alarm_id)) is not None]
    sig = rows.get(ev.id or 0)
    if sig is not None and sig.geom is not None:
        shapes.append(to_shape(sig.geom))
    evidence = {
        "model": "event", "grade": ev.grade, "grade_name": GRADE_ZH[ev.grade or "blue"], "score": g.score,
        "reasons": g.reasons, "explanation": lines, "region_name": place_name,
        "disease_name": info.name if info else None,
        "sources": sorted({f.source for f in ev.facts}), "models": sorted({f.family for f in ev.facts}),
        "alarm_ids": sorted({f.alarm_id for f in ev.facts if f.alarm_id}),
        "fusion": {"place": ev.place, "group": ev.group, "facts": [f.as_json() for f in ev.facts],
                   "reached_day": ev.reached_day.isoformat() if ev.reached_day else None,
                   "history": [[d.isoformat(), gr] for d, gr in ev.history]}}
    observed = max((f.observed for f in ev.facts if f.observed is not None), default=None)
    geom = from_shape(unary_union(shapes), srid=SRID) if shapes else None
    created = sig is None
    if sig is None:
        sig = Signal(dedup_key=f"event:{ev.district}:{ev.place}:{ev.group}:{ev.first_day.isoformat()}", origin="fusion",
                     model="event", kind="event", disease_code=ev.disease, region_code=ev.place,
                     district_code=ev.district, state="new", title=f"{place_name}{what}预警事件"[:200],
                     params={}, fire_count=0, first_fired_at=now, last_fired_at=now)
        session.add(sig)
    sig.grade, sig.evidence, sig.observed, sig.threshold = ev.grade, evidence, observed, None
    sig.window_start, sig.window_end, sig.last_fired_at = ev.first_day, ev.last_day, now
    sig.disease_code, sig.fire_count = ev.disease, len(ev.facts)
    if geom is not None:
        sig.geom = geom
    return sig, created, g.reasons


def _file(run: _Fusion, ev: EventState, old_grade: str | None, sig: Signal, created: bool,
          reasons: list[str]) -> tuple[Signal, SignalChange, Publish | None] | None:
    """After the flush: link the event and its alarm rows; its creation or grade rise to record, if any."""
    ev.id = sig.id
    run.rows[sig.id] = sig
    for f in ev.facts:
        if f.alarm_id in run.alarm_rows:
            run.alarm_rows[f.alarm_id].event_id = sig.id
    run.report.event_ids.append(sig.id)
    publish = run.publish if _reached(ev.grade, run.cfg) else None
    if created:
        run.report.created += 1
        return sig, SignalChange("created", data={"as_of": run.as_of.isoformat(), "model": "event",
                                                  "grade": ev.grade}), publish
    if ev.grade != old_grade:
        run.report.graded += 1
        return sig, SignalChange("graded", from_state=sig.state, reason="；".join(reasons),
                                 data={"from_grade": old_grade, "to_grade": ev.grade,
                                       "as_of": run.as_of.isoformat()}), publish
    return None


def _reached(grade_name: str | None, cfg: WarnConfig) -> bool:
    return grade_rank(grade_name) >= grade_rank(cfg.events.inbox_min_grade)


def _notify(session: Session, sig: Signal, ev: EventState, old_grade: str | None, created: bool, cfg: WarnConfig,
            now: datetime) -> None:
    """Push and inbox when the event reaches the inbox grade; an inbox item for each later rise."""
    if not _reached(ev.grade, cfg):
        return
    streets = sorted({p for p in ev.places() if len(p) > 6}) or [ev.place]
    title = f"【{GRADE_ZH[ev.grade or 'blue']}预警】{sig.title}"
    if not _reached(old_grade, cfg):
        sig.verify_due_at = now + timedelta(hours=cfg.verify_hours)
        push(session, sig, regions=streets)
        _inbox(session, sig, "signal.new", title, role=STAFF_ROLE)
    elif ev.grade != old_grade and not created:
        push(session, sig, regions=streets)
        _inbox(session, sig, "signal.upgraded", f"预警升级：{title}", role=STAFF_ROLE)
