"""The demo's 流调 story: the planted outbreak's warning event is verified, investigated (3 exposure places,
12 contacts), two contacts become cases, the early response is recorded, and the event is closed, evaluated
and reviewed — through the same fieldwork and alerting functions the API uses.

Each step can be played on its own (`play(session, step, …)`, the browser walkthrough does) or all
together (`play_all`, `onemap demo fieldwork`). Every step is idempotent: played again it changes nothing.
The times come from `demo.fieldwork_story_script` (days before the demo's last day); `demo.story_clock`
moves the wall-clock stamps of the state machines onto them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.tokens import principal_for_user
from alerting.service import transition
from demo import fieldwork_story_script as script
from demo.story_clock import stamp_listed, stamp_raised, stamp_transition
from fieldwork import edits, review
from fieldwork.intake import save_investigation
from fieldwork.models import (
    ContactIn,
    ContactStateBody,
    EvaluationBody,
    InvestigationIn,
    MilestoneBody,
    ReviewBody,
)
from geo.dates import now_utc
from geo.srid import SRID
from security.pii import FieldCipher
from store.accounts import AppUser, Setting
from store.cases import CaseReport
from store.fieldwork import Contact, EventReview, ExposurePlace, Investigation, ResponseMilestone, Sample
from store.signals import Signal

SEEDED_KEY = "demo.seeded"
STEPS = ("investigation", "places", "contacts", "cases", "milestones", "closed")
STEP_ZH = {"investigation": "核实报告并启动流调", "places": "暴露场所", "contacts": "密接判定与追踪",
           "cases": "密接转为病例", "milestones": "早期响应措施", "closed": "结案、评价与复核"}


class StoryError(RuntimeError):
    """The story cannot be played (no demo, no event for the outbreak)."""


@dataclass(frozen=True)
class Story:
    event_id: int
    district: str
    end: date
    clock: script.Clock
    analyst: Principal
    commander: Principal
    cipher: FieldCipher


def demo_end(session: Session) -> date:
    seeded = session.get(Setting, SEEDED_KEY)
    if seeded is None:
        raise StoryError("the demo is not seeded: run `onemap seed --demo` first")
    return date.fromisoformat(seeded.value["end"])


def find_event(session: Session, district: str = "310105") -> Signal:
    """The warning event the warning run raised for the planted outbreak: the one of its street, else one whose
    area covers the outbreak's spot, else the district's (the earliest raised first)."""
    spot = from_shape(Point(script.OUTBREAK.lon, script.OUTBREAK.lat), srid=SRID)
    event = session.scalar(select(Signal).where(
        Signal.kind == "event", Signal.district_code == district, Signal.disease_code == script.OUTBREAK.disease_code,
        Signal.state != "excluded").order_by((Signal.region_code == script.OUTBREAK.street_code).desc(),
                                             func.ST_Intersects(Signal.geom, spot).desc(), Signal.id))
    if event is None:
        raise StoryError(f"no warning event for outbreak {script.OUTBREAK.key}: run `onemap warn run` first")
    return event


def _principal(session: Session, username: str) -> Principal:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise StoryError(f"demo user {username} is missing")
    return principal_for_user(session, user)


def load_story(session: Session, cipher: FieldCipher) -> Story:
    end, event = demo_end(session), find_event(session)
    prefix = "cn" if event.district_code == "310105" else f"d{event.district_code}"
    return Story(event.id, event.district_code, end, script.clock(end), _principal(session, f"{prefix}_analyst"),
                 _principal(session, f"{prefix}_commander"), cipher)


def _investigation(session: Session) -> Investigation | None:
    return session.scalar(select(Investigation).where(Investigation.source_id == script.SOURCE_ID))


def _record(story: Story, *, places: bool, samples: bool, done: bool) -> InvestigationIn:
    end = story.end
    return InvestigationIn.model_validate({
        "source_id": script.SOURCE_ID, "signal_id": story.event_id, "investigator": script.INVESTIGATOR,
        "status": "completed" if done else "in_progress", "started_at": story.clock.investigation_started,
        "completed_at": script.at(end, 1, 12) if done else None, "first_onset_date": script.emergence(end),
        "summary": script.SUMMARY if done else None, "places": script.places(end) if places else [],
        "samples": script.samples(end) if samples else []})


def _save(session: Session, story: Story, *, places: bool, samples: bool, done: bool = False) -> Investigation:
    record = _record(story, places=places, samples=samples, done=done)
    inv, _status = save_investigation(session, record, actor=story.analyst, district=story.district,
                                      cipher=story.cipher)
    return inv


def _move_event(session: Session, story: Story, to: str, actor: Principal, reason: str) -> None:
    transition(session, actor=actor, signal_id=story.event_id, to=to, reason=reason)
    stamp_transition(session, story.event_id, to, getattr(story.clock, {"suspected": "reported"}.get(to, to)))


def step_investigation(session: Session, story: Story) -> None:
    """(a) The event raised by the warning run is verified and reported, the response decided, 流调 started."""
    event = session.get(Signal, story.event_id)
    assert event is not None
    if event.state == "new":
        stamp_raised(session, event, story.clock.raised)
        _move_event(session, story, "verifying", story.analyst, "接报后开始核实")
        _move_event(session, story, "suspected", story.analyst, "现场核实为疑似聚集性疫情，已网络直报")
        _move_event(session, story, "confirmed", story.commander, "实验室检测阳性，确认为聚集性疫情")
        _move_event(session, story, "responding", story.commander, "启动区级应急响应")
    if _investigation(session) is None:
        _save(session, story, places=False, samples=False)


def step_places(session: Session, story: Story) -> None:
    """(b) Three exposure places with their time windows (one given in GCJ-02)."""
    inv = _investigation(session)
    assert inv is not None, "play the investigation step first"
    if not session.scalar(select(exists().where(ExposurePlace.investigation_id == inv.id))):
        has_samples = session.scalar(select(exists().where(Sample.investigation_id == inv.id)))
        _save(session, story, places=True, samples=bool(has_samples))


def _contacts(session: Session, inv: Investigation) -> dict[str, Contact]:
    return {c.record_id: c for c in session.scalars(select(Contact).where(Contact.investigation_id == inv.id))}


def _move(session: Session, story: Story, contact: Contact, to: str, body: dict[str, Any]) -> None:
    """One follow-up step, unless the contact is already past it (replays change nothing)."""
    if to == contact.state or (to == "traced" and contact.state != "pending") or \
            (to == "observing" and contact.state != "traced"):
        return
    edits.move_contact(session, actor=story.analyst, contact_id=contact.id,
                       body=ContactStateBody.model_validate({"to": to, **body}))


def step_contacts(session: Session, story: Story) -> None:
    """(c) Twelve close and secondary contacts listed; nine traced the next day, five of them under observation."""
    inv = _investigation(session)
    assert inv is not None, "play the investigation step first"
    if not _contacts(session, inv):
        rows = [ContactIn.model_validate(c) for c in script.contacts(story.end)]
        edits.add_contacts(session, actor=story.analyst, investigation_id=inv.id, contacts=rows, cipher=story.cipher,
                           source="demo")
        stamp_listed(session, inv.id, story.clock.contacts_listed)
    known = _contacts(session, inv)
    for k, rid in enumerate(script.FIRST_TRACED):
        _move(session, story, known[rid], "traced", {"at": story.clock.traced_first + timedelta(minutes=30 * k)})
    for rid in script.OBSERVED:
        _move(session, story, known[rid], "observing", {"at": story.clock.observing})


def _new_cases(session: Session, story: Story, n: int) -> list[int]:
    """Case reports of the outbreak that the contacts became: onset after their exposure, reported before."""
    linked = select(Contact.became_case_id).where(Contact.became_case_id.is_not(None))
    rows = session.scalars(select(CaseReport.id).where(
        CaseReport.disease_code == script.OUTBREAK.disease_code, CaseReport.region_code == script.OUTBREAK.street_code,
        CaseReport.onset_date >= story.end - timedelta(days=5), CaseReport.report_time <= story.clock.became_case[0],
        CaseReport.id.not_in(linked)).order_by(CaseReport.onset_date, CaseReport.source_id).limit(n))
    found = list(rows)
    if len(found) < n:
        raise StoryError("the demo has too few recent case reports of the outbreak for the contacts to become")
    return found


def step_cases(session: Session, story: Story) -> None:
    """(d) The last three contacts are traced; two under observation fall ill and become cases."""
    inv = _investigation(session)
    assert inv is not None, "play the contacts step first"
    known = _contacts(session, inv)
    rest = [rid for rid in known if rid not in script.FIRST_TRACED]
    for k, rid in enumerate(sorted(rest)):
        _move(session, story, known[rid], "traced", {"at": story.clock.traced_rest + timedelta(minutes=30 * k)})
    todo = [rid for rid in script.BECOME_CASES if known[rid].state != "became_case"]
    for rid, case_id in zip(todo, _new_cases(session, story, len(todo)) if todo else [], strict=True):
        at = story.clock.became_case[script.BECOME_CASES.index(rid)]
        _move(session, story, known[rid], "became_case", {"at": at, "case_id": case_id, "note": "医学观察期间发病，确诊为病例"})


MILESTONE_NOTES = {"investigation_started": "流调组到达现场", "samples_taken": "采集病例及环境标本3份",
                   "contacts_listed": "判定密接及次密接12人", "contacts_traced": "12人全部追踪到位",
                   "control_measures": "班级停课、环境终末消毒", "communication": "家长告知书及社区健康提示发布"}


def step_milestones(session: Session, story: Story) -> None:
    """(e) Samples taken and the six early-response milestones recorded."""
    inv = _investigation(session)
    assert inv is not None, "play the investigation step first"
    if inv.status != "completed":
        _save(session, story, places=True, samples=True)
    done = set(session.scalars(select(ResponseMilestone.kind).where(ResponseMilestone.signal_id == story.event_id)))
    for kind, note in MILESTONE_NOTES.items():
        if kind in done:
            continue
        body = MilestoneBody.model_validate({"kind": kind, "done_at": getattr(story.clock, kind), "note": note})
        edits.record_milestone(session, actor=story.analyst, signal_id=story.event_id, body=body)


def step_closed(session: Session, story: Story) -> None:
    """(f) The 流调 completed; the event closed by the commander with the 处置说明, evaluated by the analyst,
    reviewed by the commander."""
    _save(session, story, places=True, samples=True, done=True)
    loop = session.scalar(select(EventReview).where(EventReview.signal_id == story.event_id))
    if loop is None:
        loop = review.close_event(session, actor=story.commander, signal_id=story.event_id, summary=script.SUMMARY)
        stamp_transition(session, story.event_id, "closed", loop.closed_at)
    if loop.state == "closed":
        body = EvaluationBody(effectiveness=script.EFFECTIVENESS, lessons=script.LESSONS)
        review.evaluate(session, actor=story.analyst, signal_id=story.event_id, body=body, now=now_utc())
    if loop.state == "evaluated":
        review.review_event(session, actor=story.commander, signal_id=story.event_id,
                            body=ReviewBody(verdict="approved", note=script.REVIEW_NOTE))


PLAYERS: dict[str, Callable[[Session, Story], None]] = {
    "investigation": step_investigation, "places": step_places, "contacts": step_contacts, "cases": step_cases,
    "milestones": step_milestones, "closed": step_closed}


def play(session: Session, step: str, cipher: FieldCipher) -> Story:
    """Play one step of the story (the caller's transaction); the earlier steps must have been played."""
    story = load_story(session, cipher)
    PLAYERS[step](session, story)
    session.flush()
    return story


def play_all(session: Session, cipher: FieldCipher) -> Story:
    story = load_story(session, cipher)
    for step in STEPS:
        PLAYERS[step](session, story)
        session.flush()
    return story
