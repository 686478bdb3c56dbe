"""Signals from the city as one more source of the warning events.

A city signal is kept as an alarm row (`origin = 'city'`, `kind = 'alarm'`, `service.receive_city_signal`)
and fused at once, like a run's alarms (`alerting.event_loop.fuse_alarms`): it joins the open event of its
place × disease (or syndrome group) × episode, or opens one. As a fact its source is `city` and its model
family `city:city` (`warn.events.model_points`), and an event holding it is graded at least
`warn.events.city_grade`. When the fusion put nothing in the district's inbox (the event was there already
and its grade did not rise), a `signal.city` item names the event, so the district still sees the city's word.
The caller commits.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alerting.config import WarnConfig
from alerting.event_loop import FusionReport, fuse_alarms
from alerting.service import STAFF_ROLE, Alarm, Publish, _inbox, utcnow
from geo.dates import CST
from store.places import Region
from store.signals import Signal

CITY_MODEL = "city"  # the fusion family of every city signal, whatever model the city names
UNSPECIFIED = "unspecified"  # syndrome group of a city signal naming neither disease nor syndrome


def _geometry(session: Session, sig: Signal) -> Any:
    if sig.geom is not None:
        return to_shape(sig.geom)
    geom = session.scalar(select(Region.geom).where(Region.code == (sig.region_code or sig.district_code)))
    return to_shape(geom) if geom is not None else None


def city_day(sig: Signal, now: datetime) -> date:
    """The day the city's signal speaks of: its window end, else the day it was issued or received (Beijing)."""
    if sig.window_end is not None:
        return sig.window_end
    issued = (sig.evidence or {}).get("issued_at")  # written by receive_city_signal (ISO), or None
    moment = datetime.fromisoformat(issued) if isinstance(issued, str) else now
    return moment.astimezone(CST).date() if moment.tzinfo else moment.date()


def city_alarm(session: Session, sig: Signal, now: datetime) -> Alarm:
    """The fusion view of a received city signal (its row is `sig`)."""
    given = (sig.evidence or {}).get("syndrome")  # the city's evidence is free JSON: only a named syndrome is read
    syndrome = None if sig.disease_code else (given if isinstance(given, str) and given else UNSPECIFIED)
    return Alarm(model=CITY_MODEL, district_code=sig.district_code, region_code=sig.region_code,
                 disease_code=sig.disease_code, title=sig.title, as_of=city_day(sig, now), observed=sig.observed,
                 threshold=sig.threshold, window_start=sig.window_start, params={},
                 evidence={"model": CITY_MODEL, "syndrome": syndrome},
                 geometry=_geometry(session, sig), origin="city")


def fuse_city_signal(session: Session, sig: Signal, *, cfg: WarnConfig, now: datetime | None = None,
                     publish: Publish | None = None) -> FusionReport:
    """File one received city signal into the warning events; caller commits."""
    now = now or utcnow()
    # the runner's lock: a run of the same district cannot open the same event at the same time
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"onemap-warn:{sig.district_code}"})
    alarm = city_alarm(session, sig, now)
    report = fuse_alarms(session, [(alarm, sig)], as_of=alarm.as_of, district_code=sig.district_code, cfg=cfg,
                         now=now, publish=publish)
    event = session.get(Signal, sig.event_id) if sig.event_id else None
    if event is not None and not (report.created or report.graded or report.notified):
        _inbox(session, event, "signal.city", f"市级下发：{sig.title}", role=STAFF_ROLE)
    return report
