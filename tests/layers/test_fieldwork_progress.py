"""The progress of open 流调 for the command panels: contacts traced / to trace and overdue follow-ups."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from fieldwork.progress import contact_progress
from tests.factories import fieldwork_map as fm

NOW = datetime(2026, 1, 26, 4, tzinfo=UTC)  # 15 days after the contacts were listed (Jan 11)


def test_counts_and_overdue_follow_ups(db: Session) -> None:
    world = fm.planted(db)  # four contacts to trace, listed on Jan 11
    inv = world["investigation"]
    fm.contact(db, inv, None, date(2026, 1, 10), state="observing", n=10)  # 16 days after exposure: overdue
    fm.contact(db, inv, None, date(2026, 1, 20), state="observing", n=11)  # within 14 days
    fm.contact(db, inv, None, date(2026, 1, 10), state="became_case", n=12)
    p = contact_progress(db, district_code=fm.DISTRICT, now=NOW)
    assert (p.investigations, p.contacts, p.traced, p.to_trace, p.observing, p.became_case) == (1, 7, 3, 4, 2, 1)
    assert (p.overdue_trace, p.overdue_release, p.overdue) == (4, 1, 5)
    early = contact_progress(db, district_code=fm.DISTRICT, now=datetime(2026, 1, 11, 12, tzinfo=UTC))
    assert (early.overdue_trace, early.overdue_release) == (0, 0)
    assert contact_progress(db, district_code=fm.OTHER, now=NOW).contacts == 0
    inv.status, inv.completed_at = "completed", NOW
    db.flush()
    assert contact_progress(db, district_code=fm.DISTRICT, now=NOW).investigations == 0
