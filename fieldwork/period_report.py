"""The 7-1-7 section of a briefing: the district's aggregate over the events raised in the report period, the
events closed in it (处置说明 recorded) and the events still in response. Figures come from
fieldwork.views.district_timeliness and fieldwork.timeliness; nothing is recomputed here."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from fieldwork.facts import load_facts
from fieldwork.states import REVIEW_STATE_ZH
from fieldwork.timeliness import compute, day_of
from fieldwork.views import district_timeliness
from geo.dates import CST, now_utc
from store.fieldwork import EventReview
from store.signals import Signal

ALL_MET_ZH = {True: "全部达标", False: "未全部达标", None: "尚未判定"}


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST)


def _row(session: Session, event: Signal, review: EventReview | None, as_of: date) -> dict[str, Any]:
    t = compute(load_facts(session, event), as_of)
    return {"id": event.id, "title": event.title, "raised": day_of(event.first_fired_at),
            "closed": day_of(review.closed_at) if review else None,
            "review_zh": REVIEW_STATE_ZH[review.state] if review else "处置中",
            "steps": [{"name": s.name, "days": s.days, "met": s.met} for s in t.steps],
            "all_met_zh": ALL_MET_ZH[t.all_met]}


def period_report(session: Session, *, actor: Principal, district: str, first: date, last: date,
                  now: datetime | None = None) -> dict[str, Any]:
    """7-1-7 of the district for `first`–`last` (Beijing days): aggregate, events closed, events in response."""
    timeliness = district_timeliness(session, actor=actor, district=district, first=first, last=last, now=now)
    as_of = day_of(now or now_utc())
    closed = session.execute(select(Signal, EventReview).join(EventReview, EventReview.signal_id == Signal.id).where(
        Signal.kind == "event", Signal.district_code == district, EventReview.closed_at >= _start(first),
        EventReview.closed_at < _start(last + timedelta(days=1))).order_by(EventReview.closed_at)).all()
    responding = session.scalars(select(Signal).where(Signal.kind == "event", Signal.district_code == district,
                                                      Signal.state == "responding").order_by(Signal.first_fired_at))
    return {"timeliness": timeliness,
            "closed": [_row(session, e, r, as_of) for e, r in closed],
            "responding": [_row(session, e, None, as_of) for e in responding]}
