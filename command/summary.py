"""The command map's panels: teams by status, video connectivity, stock below minimum, open / overdue tasks."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from command.stock import below_minimum_by_category
from store.response import TEAM_STATUSES

VIDEO_TARGET = 0.90  # the programme's target share of teams with a working video link
OPEN_TASK_STATES = ("issued", "accepted", "in_progress")


def team_counts(session: Session, *, district_code: str | None) -> dict[str, Any]:
    """Teams per status, available (standby) vs deployed, and the video-link rate against the target."""
    rows = session.execute(text("""SELECT status, COUNT(*), COUNT(*) FILTER (WHERE video_online) FROM team
        WHERE CAST(:d AS text) IS NULL OR district_code = :d GROUP BY status"""), {"d": district_code}).all()
    by_status = {s: 0 for s in TEAM_STATUSES} | {r[0]: int(r[1]) for r in rows}
    total, online = sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows)
    rate = online / total if total else None
    return {"by_status": by_status, "total": total, "available": by_status["standby"],
            "deployed": by_status["dispatched"] + by_status["on_site"], "video_online": online,
            "video_rate": rate, "video_target": VIDEO_TARGET, "video_ok": rate is not None and rate >= VIDEO_TARGET}


def task_counts(session: Session, *, district_code: str | None, now: datetime | None = None) -> dict[str, int]:
    """Open tasks of the district and how many are past their deadline."""
    row = session.execute(text("""SELECT COUNT(*), COUNT(*) FILTER (WHERE deadline < :now) FROM task
        WHERE state = ANY(:open) AND (CAST(:d AS text) IS NULL OR district_code = :d)"""),
        {"d": district_code, "open": list(OPEN_TASK_STATES), "now": now or datetime.now(UTC)}).one()
    return {"open": int(row[0]), "overdue": int(row[1])}


def panels(session: Session, *, district_code: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Everything the side panels show, as plain data."""
    below = below_minimum_by_category(session, district_code=district_code)
    return {"teams": team_counts(session, district_code=district_code),
            "tasks": task_counts(session, district_code=district_code, now=now),
            "stock_below_min": below, "stock_below_min_total": sum(below.values())}
