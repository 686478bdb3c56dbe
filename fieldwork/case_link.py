"""A contact who became a case names the case report (`contact.became_case_id`): the contact → case edge of
the transmission chain. The case must exist and be a case of the investigation's district."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from fieldwork.errors import refuse
from fieldwork.models import ContactIn
from store.cases import CaseReport
from store.fieldwork import Contact


def check_case(session: Session, case_id: int, district: str, field: str = "case_id", row: int | None = None) -> int:
    """`case_id` when it is a case report of `district`; else refused naming `field` (other districts' ids
    are answered like unknown ones, so they do not leak)."""
    case = session.get(CaseReport, case_id)
    if case is None or case.district_code != district:
        raise refuse("invalid", "case_unknown", f"case {case_id} is not a case report of district {district}",
                     f"病例 {case_id} 不存在或不属于本区", field, row)
    return case.id


def check_link(to: str, case_id: int | None) -> None:
    """A case id goes only with the move to 转为病例."""
    if case_id is not None and to != "became_case":
        raise refuse("invalid", "case_without_became_case", "case_id is only given with to = became_case",
                     "仅在转为病例时可填写病例编号", "case_id")


def link_contacts(session: Session, contacts: Sequence[tuple[Contact, ContactIn]], district: str, *,
                  dotted: bool) -> None:
    """Link the listed contacts to the cases they became (checked); a contact whose follow-up is not at
    转为病例 keeps no link (after intake, follow-up is the district's). `dotted`: name the field as
    `contacts.<i>.case_id` (intake) rather than `case_id` with the 1-based row (staff's lists)."""
    for row, (contact, data) in enumerate(contacts, start=1):
        if data.case_id is None:
            continue
        field, at = (f"contacts.{row - 1}.case_id", None) if dotted else ("case_id", row)
        case_id = check_case(session, data.case_id, district, field, at)
        if contact.state == "became_case":
            contact.became_case_id = case_id
