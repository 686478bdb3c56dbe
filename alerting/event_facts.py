"""What fusion needs from the database: alarms as `AlarmFact`s, diseases, street populations."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.events import AlarmFact, DiseaseInfo
from alerting.service import Alarm
from store.cases import Disease
from store.places import Region

# models whose threshold is the expectation the observed count is compared with
THRESHOLD_IS_EXPECTED = ("moving_percentile", "count_threshold")


def source_of(alarm: Alarm) -> str:
    """cases | syndromic | education | pharmacy | opinion | city."""
    if alarm.origin == "city":
        return "city"
    if alarm.origin in ("department", "opinion"):
        return alarm.source_dept or alarm.origin
    if (alarm.evidence or {}).get("level") == "institution" or alarm.model.startswith("ears"):
        return "syndromic"
    return "cases"


def _float(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def fact_of(alarm: Alarm, alarm_id: int | None = None) -> AlarmFact:
    """The fusion view of a raised alarm."""
    ev = alarm.evidence or {}
    cluster = ev.get("cluster") or {}
    if alarm.model == "scan":
        expected, p = _float(ev.get("expected")), _float(cluster.get("p_value"))
    elif alarm.model in THRESHOLD_IS_EXPECTED:
        expected, p = alarm.threshold, None
    else:
        expected, p = _float(ev.get("baseline")), None
    return AlarmFact(model=alarm.model, source=source_of(alarm), district=alarm.district_code,
                     place=alarm.region_code or alarm.district_code, day=alarm.as_of, disease=alarm.disease_code,
                     syndrome=None if alarm.disease_code else (ev.get("syndrome") or ev.get("group")),
                     members=tuple(cluster.get("locations") or ()), observed=alarm.observed, expected=expected,
                     p_value=p, label=alarm.title, alarm_id=alarm_id)


def disease_infos(session: Session) -> dict[str, DiseaseInfo]:
    return {d.code: DiseaseInfo(d.code, d.name, d.klass, d.category, bool(d.single_case))
            for d in session.scalars(select(Disease))}


def populations(session: Session, district_code: str | None) -> dict[str, int]:
    """Resident population of streets and districts."""
    stmt = select(Region.code, Region.population).where(Region.level.in_(("district", "street")),
                                                        Region.population.is_not(None))
    if district_code:
        stmt = stmt.where(Region.district_code == district_code)
    return {code: int(pop) for code, pop in session.execute(stmt) if pop is not None}  # the query excludes None
