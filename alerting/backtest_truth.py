"""The demo's planted outbreaks (setting "demo.outbreaks") as the backtest's ground truth, and when an event flagged one.

An outbreak starts at its first case's onset (`first_onset`, recorded by the seed); a demo seeded before that
field existed falls back to the nominal start (`starts_days_before_end`), which can be a day or two earlier
(the planted epidemic curve starts at zero). A fact is about an outbreak when its disease (or its sentinel
syndrome) and its street match and its day lies in `start … start + duration + GRACE_DAYS`.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from alerting.events import AlarmFact, EventState, grade_rank, max_grade
from store.accounts import Setting

GRACE_DAYS = 7


def ground_truth(session: Session) -> tuple[date | None, list[dict[str, Any]]]:
    """The demo's end date and its outbreaks, each with `start` (first onset), `nominal_start` and `stop`."""
    seeded = session.get(Setting, "demo.seeded")
    rows = session.get(Setting, "demo.outbreaks")
    if seeded is None or rows is None:
        return None, []
    end = date.fromisoformat(seeded.value["end"])
    return end, [_truth(o, end) for o in rows.value]


def _truth(o: dict[str, Any], end: date) -> dict[str, Any]:
    nominal = end - timedelta(days=int(o["starts_days_before_end"]))
    start = date.fromisoformat(o["first_onset"]) if o.get("first_onset") else nominal
    return {**o, "start": start, "nominal_start": nominal,
            "stop": nominal + timedelta(days=int(o["duration_days"]) + GRACE_DAYS)}


def is_about(f: AlarmFact, o: dict[str, Any]) -> bool:
    """Whether an alarm fact is about the outbreak (its disease or sentinel syndrome, its street, its days)."""
    if not o["start"] <= f.day <= o["stop"] or o["street_code"] not in f.places():
        return False
    return f.disease == o["disease_code"] or (f.source == "syndromic" and f.syndrome == o.get("syndrome"))


def event_detection(e: EventState, o: dict[str, Any], min_grade: str) -> dict[str, Any] | None:
    """When (at which grade, on which models' alarms) the event flagged the outbreak, or None.

    It counts from the later of the event's first alarm about the outbreak and the day it reached `min_grade`;
    `models` are the models of its alarms about the outbreak up to that day.
    """
    facts = [f for f in e.facts if is_about(f, o)]
    if not facts:
        return None
    first = min(f.day for f in facts)
    for d in sorted({f.day for f in facts} | {h for h, _ in e.history}):
        grade = max_grade(*(g for h, g in e.history if h <= d))
        if d >= first and grade_rank(grade) >= grade_rank(min_grade):
            models = sorted({f.model for f in facts if f.day <= d})
            return {"day": d, "grade": grade, "event": e, "models": models}
    return None


def detection_row(o: dict[str, Any], hit: dict[str, Any] | None) -> dict[str, Any] | None:
    """The outbreak's first inbox-grade event as the backtest reports it (None: not flagged)."""
    if hit is None:
        return None
    e: EventState = hit["event"]
    return {"day_offset": (hit["day"] - o["start"]).days, "grade": hit["grade"],
            "first_onset": o["start"].isoformat(), "detected": hit["day"].isoformat(),
            "nominal_offset": (hit["day"] - o["nominal_start"]).days, "models": hit["models"],
            "first_day": e.first_day.isoformat(), "place": e.place, "group": e.group, "alarms": len(e.facts),
            "new_event": e.first_day >= o["start"] - timedelta(days=GRACE_DAYS)}


def format_detections(found: dict[str, dict[str, Any] | None]) -> list[str]:
    """One line per outbreak: first onset, detection day, days after the first onset, grade, models."""
    lines = [f"  {'outbreak':<26} {'first onset':<11} {'detected':<11} {'days':>4}  {'grade':<6} models"]
    for key, ev in found.items():
        if ev is None:
            lines.append(f"  {key:<26} 未达到推送等级")
            continue
        lines.append(f"  {key:<26} {ev['first_onset']:<11} {ev['detected']:<11} {ev['day_offset']:>+4}  "
                     f"{ev['grade']:<6} {', '.join(ev['models'])}")
    return lines
