"""Exchange KPIs from the ledgers (task list item 8.2: success ≥ 90%, timeliness ≥ 80%, conformance ≥ 70%).

Per day (China Standard Time), direction and record type. Upward ('up', exchange_outbox; the day the
record was queued):
- success: records the city accepted (or already held) / records the city answered;
- timeliness: delivered within the deadline after the business event / delivered;
- conformance: passed the city's schema check on the first answer / answered;
plus what is still waiting and the age of the oldest waiting record, so a peer that stopped
answering shows as a stale exchange rather than as silence.

Downward ('down', exchange_inbound; the day the record arrived), with the same columns: answered =
records received but stale ones; delivered = landed ('created', 'updated') or already held
('duplicate'); refused = rejected; timely = delivered within the deadline after the record's
changed_at; conformant = passed the district's schema check; superseded = stale (an older version
after a newer one); nothing is ever pending.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.dates import CST

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("up", "down")
GOALS = {"success": 0.90, "timeliness": 0.80, "conformance": 0.70}

_DAILY = text("""
SELECT (enqueued_at AT TIME ZONE INTERVAL '+08:00')::date AS day, record_type,
       count(*) FILTER (WHERE status IN ('delivered', 'refused')) AS answered,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       count(*) FILTER (WHERE status = 'refused') AS refused,
       count(*) FILTER (WHERE status = 'delivered' AND answered_at - business_at <= :deadline) AS timely,
       count(*) FILTER (WHERE conformant) AS conformant,
       count(*) FILTER (WHERE conformant IS NOT NULL) AS judged,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'superseded') AS superseded
FROM exchange_outbox
WHERE enqueued_at >= :since AND enqueued_at < :until
GROUP BY 1, 2 ORDER BY 1, 2
""")
_DAILY_DOWN = text("""
SELECT (received_at AT TIME ZONE INTERVAL '+08:00')::date AS day, record_type,
       count(*) FILTER (WHERE outcome <> 'stale') AS answered,
       count(*) FILTER (WHERE outcome IN ('created', 'updated', 'duplicate')) AS delivered,
       count(*) FILTER (WHERE outcome = 'rejected') AS refused,
       count(*) FILTER (WHERE outcome IN ('created', 'updated', 'duplicate')
                        AND received_at - business_at <= :deadline) AS timely,
       count(*) FILTER (WHERE conformant AND outcome <> 'stale') AS conformant,
       count(*) FILTER (WHERE outcome <> 'stale') AS judged,
       0 AS pending,
       count(*) FILTER (WHERE outcome = 'stale') AS superseded
FROM exchange_inbound
WHERE received_at >= :since AND received_at < :until
GROUP BY 1, 2 ORDER BY 1, 2
""")
_WAITING = text("""
SELECT count(*) AS pending, min(enqueued_at) AS oldest,
       (SELECT max(answered_at) FROM exchange_outbox WHERE status = 'delivered') AS last_delivered
FROM exchange_outbox WHERE status = 'pending'
""")


@dataclass(frozen=True)
class DayFigures:
    day: date
    direction: str
    record_type: str
    answered: int
    delivered: int
    refused: int
    timely: int
    conformant: int
    judged: int
    pending: int
    superseded: int

    def rates(self) -> dict[str, float | None]:
        return {"success": _ratio(self.delivered, self.answered), "timeliness": _ratio(self.timely, self.delivered),
                "conformance": _ratio(self.conformant, self.judged)}

    def as_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "day"}, "day": self.day.isoformat(),
                "rates": self.rates()}


def daily(session: Session, *, since: datetime, until: datetime, deadline: timedelta,
          direction: Direction = "up") -> list[DayFigures]:
    """Figures of one direction per day and record type for records queued (up) or received (down) in [since, until)."""
    query = _DAILY if direction == "up" else _DAILY_DOWN
    rows = session.execute(query, {"since": since, "until": until, "deadline": deadline}).mappings()
    return [DayFigures(direction=direction, **dict(r)) for r in rows]


@dataclass(frozen=True)
class Waiting:
    pending: int
    oldest: datetime | None
    last_delivered: datetime | None

    def stale(self, now: datetime, deadline: timedelta) -> bool:
        """Records have waited longer than the deadline: the peer is not taking them."""
        return self.oldest is not None and now - self.oldest > deadline


def waiting(session: Session) -> Waiting:
    row = session.execute(_WAITING).mappings().one()
    return Waiting(**dict(row))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summary(session: Session, *, since: date, until: date, deadline: timedelta, now: datetime) -> dict[str, Any]:
    """The KPI answer for the days [since, until] (Beijing dates): per day, totals, what waits, staleness."""
    start = datetime.combine(since, datetime.min.time(), CST)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), CST)
    by_direction = {d: daily(session, since=start, until=end, deadline=deadline, direction=d) for d in DIRECTIONS}
    days = sorted((d for rows in by_direction.values() for d in rows), key=lambda d: (d.day, d.direction, d.record_type))
    wait = waiting(session)
    return {"since": since, "until": until, "deadline_hours": deadline.total_seconds() / 3600, "goals": GOALS,
            "totals": _total(since, "*", days).rates(),
            "directions": {d: _total(since, d, rows).rates() for d, rows in by_direction.items()},
            "days": [d.as_json() for d in days],
            "waiting": {"pending": wait.pending, "oldest": wait.oldest, "last_delivered": wait.last_delivered},
            "stale": wait.stale(now, deadline)}


def _total(day: date, direction: str, days: list[DayFigures]) -> DayFigures:
    return DayFigures(day, direction, "*", *(sum(getattr(d, f) for d in days) for f in _COUNTS))


_COUNTS = ("answered", "delivered", "refused", "timely", "conformant", "judged", "pending", "superseded")


_REFUSED = text("""
SELECT record_type, record_id, district_code, outcome_code, answered_at FROM exchange_outbox
WHERE status = 'refused' ORDER BY answered_at DESC, id DESC LIMIT :limit
""")


def recent_refusals(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    """The records the city refused most recently, with its reason codes (for the duty officer to fix)."""
    return [dict(r) for r in session.execute(_REFUSED, {"limit": limit}).mappings()]
