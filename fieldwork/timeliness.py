"""7-1-7 timeliness: emergence → detection ≤ 7 days, detection → notification ≤ 1 day, notification → early
response completed ≤ 7 days. Pure functions over an event's facts (`fieldwork.facts` loads them).

Every interval is counted in calendar days of Beijing time (the later day minus the earlier day), as the
7-1-7 target is written. A step whose end is not yet known is `None` days; it is missed (met False) once
the target has passed on `as_of`, and undetermined (met None) before.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from statistics import median

from geo.dates import CST

STEPS = ("detection", "notification", "response")
TARGETS = {"detection": 7, "notification": 1, "response": 7}
STEP_ZH = {"detection": "发生→发现", "notification": "发现→报告", "response": "报告→早期响应完成"}
# The early-response actions that must all be recorded before the response counts as completed.
RESPONSE_MILESTONES = ("investigation_started", "samples_taken", "contacts_listed", "contacts_traced",
                       "control_measures", "communication")


@dataclass(frozen=True)
class EventFacts:
    """What 7-1-7 needs of one event: first onset, when raised, when verified and reported, milestones."""

    event_id: int
    first_onset: date | None
    detected_at: datetime
    notified_at: datetime | None
    milestones: dict[str, datetime]


@dataclass(frozen=True)
class Step:
    name: str
    start: date | None
    end: date | None
    days: int | None
    target: int
    met: bool | None


@dataclass(frozen=True)
class Timeliness:
    event_id: int
    steps: tuple[Step, Step, Step]
    missing_milestones: tuple[str, ...]

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def all_met(self) -> bool | None:
        flags = [s.met for s in self.steps]
        return False if False in flags else (None if None in flags else True)


def day_of(moment: datetime) -> date:
    """The Beijing calendar day of an aware time."""
    return moment.astimezone(CST).date()


def _step(name: str, start: date | None, end: date | None, as_of: date) -> Step:
    target = TARGETS[name]
    if start is None:
        return Step(name, None, end, None, target, None)
    if end is None:
        overdue = (as_of - start).days > target
        return Step(name, start, None, None, target, False if overdue else None)
    days = (end - start).days
    return Step(name, start, end, days, target, days <= target)


def response_completed(milestones: dict[str, datetime]) -> tuple[datetime | None, tuple[str, ...]]:
    """When the last required milestone was done (None while any is missing), and the missing ones."""
    missing = tuple(m for m in RESPONSE_MILESTONES if m not in milestones)
    if missing:
        return None, missing
    return max(milestones[m] for m in RESPONSE_MILESTONES), ()


def compute(facts: EventFacts, as_of: date) -> Timeliness:
    """The three 7-1-7 intervals of one event, as of the day `as_of`."""
    detected = day_of(facts.detected_at)
    notified = day_of(facts.notified_at) if facts.notified_at else None
    completed_at, missing = response_completed(facts.milestones)
    completed = day_of(completed_at) if completed_at else None
    steps = (_step("detection", facts.first_onset, detected, as_of),
             _step("notification", detected, notified, as_of),
             _step("response", notified, completed, as_of))
    return Timeliness(facts.event_id, steps, missing)


@dataclass(frozen=True)
class StepSummary:
    name: str
    target: int
    measured: int  # events whose step is decided (met or missed)
    met: int
    share_met: float | None
    median_days: float | None  # over the events whose step has ended


@dataclass(frozen=True)
class Aggregate:
    events: int
    all_met: int
    steps: tuple[StepSummary, ...]
    bottleneck: str | None


def _summary(name: str, results: list[Timeliness]) -> StepSummary:
    steps = [r.step(name) for r in results]
    decided = [s for s in steps if s.met is not None]
    met = sum(1 for s in decided if s.met)
    days = [s.days for s in steps if s.days is not None]
    return StepSummary(name, TARGETS[name], len(decided), met, round(met / len(decided), 4) if decided else None,
                       float(median(days)) if days else None)


def bottleneck(summaries: tuple[StepSummary, ...]) -> str | None:
    """The step with the lowest share meeting its target; ties go to the larger median days / target."""
    measured = [s for s in summaries if s.share_met is not None]
    if not measured:
        return None
    worst = min(measured, key=lambda s: (s.share_met, -((s.median_days or 0.0) / s.target)))
    return worst.name


def aggregate(results: list[Timeliness]) -> Aggregate:
    """The district's figures: per step the share of decided events meeting the target and the median days."""
    summaries = tuple(_summary(name, results) for name in STEPS)
    return Aggregate(len(results), sum(1 for r in results if r.all_met), summaries, bottleneck(summaries))


def as_dict(result: Timeliness) -> dict[str, object]:
    """JSON-ready figures of one event (stored with its evaluation, shown on the event)."""
    steps = [{"step": s.name, "label_zh": STEP_ZH[s.name], "start": s.start.isoformat() if s.start else None,
              "end": s.end.isoformat() if s.end else None, "days": s.days, "target_days": s.target, "met": s.met}
             for s in result.steps]
    return {"event_id": result.event_id, "steps": steps, "all_met": result.all_met,
            "missing_milestones": list(result.missing_milestones)}


def aggregate_dict(agg: Aggregate) -> dict[str, object]:
    steps = [{"step": s.name, "label_zh": STEP_ZH[s.name], "target_days": s.target, "measured": s.measured,
              "met": s.met, "share_met": s.share_met, "median_days": s.median_days} for s in agg.steps]
    return {"events": agg.events, "all_met": agg.all_met, "steps": steps, "bottleneck": agg.bottleneck,
            "bottleneck_zh": STEP_ZH[agg.bottleneck] if agg.bottleneck else None}
