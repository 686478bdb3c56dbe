"""What the transmission chain (fieldwork.chain) reads from the database for one warning event.

The event (in the caller's scope), its investigations and their contacts, the case reports they name (the
cases investigated, the evidence's cases, the cases contacts became). Contacts' names only when the caller
asks for them in clear and may see them (`identity.identities`: refused or audited).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from fieldwork import identity
from fieldwork.chain import CaseFact, ChainFacts, ContactFact
from fieldwork.edits import load_event
from fieldwork.facts import evidence_case_ids
from security.pii import FieldCipher
from store.cases import CaseReport, Disease
from store.fieldwork import Contact, Investigation
from store.signals import Signal


def _cases(session: Session, ids: set[int], district: str) -> dict[int, CaseFact]:
    if not ids:
        return {}
    rows = session.execute(select(CaseReport.id, CaseReport.onset_date, Disease.name)
                           .outerjoin(Disease, Disease.code == CaseReport.disease_code)
                           .where(CaseReport.id.in_(ids), CaseReport.district_code == district)).all()
    return {cid: CaseFact(cid, onset, name) for cid, onset, name in rows}


def _names(session: Session, contacts: list[Contact], *, actor: Principal, cipher: FieldCipher | None,
           clear: bool, purpose: str | None, district: str) -> dict[int, str | None]:
    if not clear:
        return {}
    shown = identity.identities(session, contacts, cipher=cipher, actor=actor, clear=True, purpose=purpose,
                                district_code=district)
    return {cid: values.get("name") for cid, values in shown.items()}


def load_chain_facts(session: Session, *, actor: Principal, signal_id: int, cipher: FieldCipher | None,
                     clear: bool = False, purpose: str | None = None) -> ChainFacts:
    event = load_event(session, actor=actor, signal_id=signal_id)
    invs = dict(session.execute(select(Investigation.id, Investigation.case_id)
                                .where(Investigation.signal_id == event.id).order_by(Investigation.id)).all())
    contacts = list(session.scalars(select(Contact).where(Contact.investigation_id.in_(list(invs)))
                                    .order_by(Contact.id))) if invs else []
    names = _names(session, contacts, actor=actor, cipher=cipher, clear=clear, purpose=purpose,
                   district=event.district_code)
    evidence = evidence_case_ids(session, event)
    wanted = {*evidence, *(c for c in invs.values() if c is not None),
              *(c.became_case_id for c in contacts if c.became_case_id is not None)}
    return ChainFacts(
        event_id=event.id, title=event.title, evidence_case_ids=evidence, investigation_cases=invs,
        contacts=tuple(ContactFact(c.id, c.investigation_id, c.degree, c.state, c.became_case_id, names.get(c.id))
                       for c in contacts),
        cases=_cases(session, wanted, event.district_code))


def chain_events(session: Session, *, actor: Principal, district: str, limit: int = 50) -> list[tuple[int, str, str]]:
    """(id, title, state) of the district's warning events that have a 流调, the latest raised first."""
    if not actor.may_see_district(district):
        return []
    with_investigation = select(Investigation.signal_id).where(Investigation.signal_id.is_not(None))
    rows = session.execute(select(Signal.id, Signal.title, Signal.state).where(
        Signal.kind == "event", Signal.district_code == district, Signal.state != "excluded",
        Signal.id.in_(with_investigation)).order_by(Signal.first_fired_at.desc()).limit(limit)).all()
    return [(sid, title, state) for sid, title, state in rows]
