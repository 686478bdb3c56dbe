"""District staff's edits: contacts added to an investigation, a contact's follow-up, response milestones."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from fieldwork import identity
from fieldwork.case_link import check_case, check_link, link_contacts
from fieldwork.contact_place import locate_streets, set_place
from fieldwork.errors import not_found, refuse
from fieldwork.intake import new_contact
from fieldwork.models import ContactIn, ContactStateBody, MilestoneBody
from fieldwork.states import check_contact_move
from fieldwork.timeliness import day_of
from geo.dates import now_utc
from security.pii import FieldCipher
from store.fieldwork import Contact, Investigation, ResponseMilestone
from store.signals import Signal

STAFF = frozenset({"district_commander", "district_analyst", "city_admin"})


def ensure_staff(actor: Principal) -> None:
    if actor.role not in STAFF:
        raise refuse("forbidden", "forbidden_role", f"role {actor.role} may not edit field investigations",
                     "当前角色无权编辑流调信息")


def load_event(session: Session, *, actor: Principal, signal_id: int, lock: bool = False) -> Signal:
    """A warning event the actor may see (404 otherwise, so other districts' ids do not leak)."""
    stmt = select(Signal).where(Signal.id == signal_id, Signal.kind == "event")
    sig = session.scalar(stmt.with_for_update() if lock else stmt)
    if sig is None or not actor.may_see_district(sig.district_code):
        raise not_found("event", signal_id, "预警事件")
    return sig


def load_investigation(session: Session, *, actor: Principal, investigation_id: int) -> Investigation:
    inv = session.get(Investigation, investigation_id, with_for_update=True)
    if inv is None or not actor.may_see_district(inv.district_code):
        raise not_found("investigation", investigation_id, "流调记录")
    return inv


def add_contacts(session: Session, *, actor: Principal, investigation_id: int, contacts: list[ContactIn],
                 cipher: FieldCipher | None, source: str = "api") -> list[Contact]:
    """Add contacts to an investigation, all or none; a record_id already there refuses its row (1-based)."""
    ensure_staff(actor)
    key = identity.require(cipher)
    inv = load_investigation(session, actor=actor, investigation_id=investigation_id)
    known = set(session.scalars(select(Contact.record_id).where(Contact.investigation_id == inv.id)))
    seen: set[str] = set()
    for row, data in enumerate(contacts, start=1):
        if data.record_id in known or data.record_id in seen:
            raise refuse("conflict", "contact_exists", f"row {row}: contact {data.record_id} is already listed",
                         f"第 {row} 行：密接编号 {data.record_id} 已存在", "record_id", row)
        seen.add(data.record_id)
    added = [new_contact(inv, data, key) for data in contacts]
    locate_streets(session, [set_place(c, d, inv.district_code, row)
                             for row, (c, d) in enumerate(zip(added, contacts, strict=True), start=1)], inv.district_code)
    link_contacts(session, list(zip(added, contacts, strict=True)), inv.district_code, dotted=False)
    session.add_all(added)
    session.flush()
    audit.record(session, actor=actor, action="fieldwork.contacts_added", object_type="investigation",
                 object_id=str(inv.id), district_code=inv.district_code,
                 detail={"contacts": len(added), "source": source})
    return added


def _apply_state(contact: Contact, to: str, at: datetime, case_id: int | None) -> None:
    contact.state = to
    if to == "traced":
        contact.traced_at = at
    elif to == "observing":
        contact.observation_start = day_of(at)
    elif to == "released":
        contact.released_on = day_of(at)
    else:
        contact.became_case_at, contact.became_case_id = at, case_id


def move_contact(session: Session, *, actor: Principal, contact_id: int, body: ContactStateBody) -> Contact:
    """One step of a contact's follow-up (待追踪 → 已追踪 → 医学观察 → 解除 / 转为病例), audited."""
    ensure_staff(actor)
    contact = session.get(Contact, contact_id, with_for_update=True)
    inv = session.get(Investigation, contact.investigation_id) if contact else None
    if contact is None or inv is None or not actor.may_see_district(inv.district_code):
        raise not_found("contact", contact_id, "密切接触者")
    check_contact_move(contact.state, body.to)
    check_link(body.to, body.case_id)
    case_id = None if body.case_id is None else check_case(session, body.case_id, inv.district_code)
    at = body.at or now_utc()
    if contact.traced_at is not None and at < contact.traced_at:
        raise refuse("invalid", "time_order", "the step lies before the contact was traced", "时间早于追踪时间", "at")
    from_state = contact.state
    _apply_state(contact, body.to, at, case_id)
    if body.note:
        contact.note = body.note
    session.flush()
    audit.record(session, actor=actor, action="fieldwork.contact_state", object_type="contact",
                 object_id=str(contact.id), district_code=inv.district_code,
                 detail={"from": from_state, "to": body.to, "at": at.isoformat(), "case_id": case_id})
    return contact


def record_milestone(session: Session, *, actor: Principal, signal_id: int, body: MilestoneBody) -> ResponseMilestone:
    """Record (or correct) when one early-response action of the event was done, audited."""
    ensure_staff(actor)
    event = load_event(session, actor=actor, signal_id=signal_id, lock=True)
    if body.done_at < event.first_fired_at:
        raise refuse("invalid", "time_order", "the milestone lies before the event was raised",
                     "完成时间早于事件发现时间", "done_at")
    row = session.scalar(select(ResponseMilestone).where(ResponseMilestone.signal_id == event.id,
                                                         ResponseMilestone.kind == body.kind))
    if row is None:
        row = ResponseMilestone(signal_id=event.id, kind=body.kind)
        session.add(row)
    row.done_at, row.note = body.done_at, body.note
    row.actor_user_id = actor.user_id if actor.user_id > 0 else None
    session.flush()
    audit.record(session, actor=actor, action="fieldwork.milestone", object_type="signal", object_id=str(event.id),
                 district_code=event.district_code, detail={"kind": body.kind, "done_at": body.done_at.isoformat()})
    return row
