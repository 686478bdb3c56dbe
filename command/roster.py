"""The duty roster (应急值守): who is on duty in which role; names and phones SM4-encrypted, shown masked."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from command.stock import read_csv_rows
from gazetteer.errors import ImportRejected, RowProblem
from geo import dates
from security.pii import FieldCipher, mask_name, mask_phone
from security.sm4 import DecryptionError
from store.response import DutyRoster

CSV_COLUMNS = ("day", "duty_role", "org_name", "name", "phone")
# Mainland mobile numbers and landlines with area code and optional extension.
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")


@dataclass(frozen=True)
class DutyEntry:
    """One roster line as screens show it: contacts masked."""

    day: str
    duty_role: str
    org_name: str
    shift: str
    name: str
    phone: str


def _reveal(cipher: FieldCipher, data: bytes | None, field: str) -> str | None:
    if not data:
        return None
    try:
        return cipher.decrypt(data, field)
    except DecryptionError:
        return None


def roster_for_day(session: Session, *, cipher: FieldCipher, district_code: str, day: date) -> list[DutyEntry]:
    """The district's roster for `day` in role order, names and phones masked (undecryptable shown as ***)."""
    rows = session.scalars(select(DutyRoster).where(DutyRoster.district_code == district_code, DutyRoster.day == day)
                           .order_by(DutyRoster.id))
    out = []
    for r in rows:
        name, phone = _reveal(cipher, r.person_name_enc, "name"), _reveal(cipher, r.phone_enc, "phone")
        out.append(DutyEntry(day=r.day.isoformat(), duty_role=r.duty_role, org_name=r.org_name, shift=r.shift,
                             name=mask_name(name) if name else "***", phone=mask_phone(phone) if phone else "—"))
    return out


def _row(i: int, row: dict[str, str], problems: list[RowProblem]) -> tuple[date, dict[str, str]] | None:
    found: list[RowProblem] = []
    try:
        day = dates.check(date.fromisoformat(row["day"]), dates.QUERY, "day")
    except dates.DateRangeError as exc:
        found.append(RowProblem(i, "day", exc.code, exc.message))
        day = None
    except ValueError:
        found.append(RowProblem(i, "day", "value.not_date", f"{row['day']!r} is not a date (YYYY-MM-DD)"))
        day = None
    for name, limit in (("duty_role", 30), ("org_name", 100), ("name", 50), ("shift", 20)):
        value = row.get(name, "")
        if name != "shift" and not value:
            found.append(RowProblem(i, name, "value.missing", f"{name} is empty"))
        elif len(value) > limit:
            found.append(RowProblem(i, name, "value.too_long", f"{name} is longer than {limit} characters"))
    phone = row["phone"].replace(" ", "")
    if phone and not _PHONE.match(phone):
        found.append(RowProblem(i, "phone", "value.not_phone", "phone is not a mobile or landline number"))
    problems += found
    if found or day is None:
        return None
    return day, {**row, "phone": phone}


def import_roster_csv(session: Session, data: str, *, cipher: FieldCipher, district_code: str,
                      actor: Principal | None = None) -> int:
    """Validate every row, then replace the district's roster for each day the file covers; all-or-nothing.

    Columns: day (YYYY-MM-DD), duty_role, org_name, name, phone; optional shift (default 全天).
    """
    rows = read_csv_rows(data, CSV_COLUMNS)
    problems: list[RowProblem] = []
    good: list[tuple[date, dict[str, str]]] = []
    seen: dict[tuple[date, str, str, str], int] = {}
    for i, row in enumerate(rows, start=1):
        parsed = _row(i, row, problems)
        if parsed is None:
            continue
        key = (parsed[0], row["duty_role"], row.get("shift") or "全天", row["name"])
        if key in seen:
            problems.append(RowProblem(i, "name", "value.duplicate", f"same person, day, role and shift as row {seen[key]}"))
        seen[key] = i
        good.append(parsed)
    if problems:
        raise ImportRejected(problems)
    days = sorted({d for d, _ in good})
    with session.begin_nested():
        session.execute(delete(DutyRoster).where(DutyRoster.district_code == district_code, DutyRoster.day.in_(days)))
        for day, row in good:
            shift = row.get("shift") or "全天"
            session.add(DutyRoster(
                district_code=district_code, day=day, duty_role=row["duty_role"], org_name=row["org_name"], shift=shift,
                person_name_enc=cipher.encrypt(row["name"], "name"),
                person_name_bidx=cipher.blind_index(f"{row['name']}|{shift}", "name"),
                phone_enc=cipher.encrypt(row["phone"], "phone") if row["phone"] else None))
        session.flush()
        audit.record(session, actor=actor, action="roster.import", object_type="duty_roster", district_code=district_code,
                     detail={"rows": len(good), "days": [d.isoformat() for d in days]})  # names and phones: never
    return len(good)
