"""7-1-7 figures equal a hand computation (pure functions, no database)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from fieldwork.timeliness import RESPONSE_MILESTONES, EventFacts, aggregate, compute


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _all_milestones(last: str) -> dict[str, datetime]:
    done = {m: _utc("2026-03-10T02:00:00") for m in RESPONSE_MILESTONES}
    done["communication"] = _utc(last)
    return done


# Hand computation (Beijing days):
# A: onset 03-01, raised 03-05 10:00 CST, verified 03-06 09:00 CST, last milestone 03-12 (UTC 20:00 = 03-13 CST)
#    → 4 days (met), 1 day (met), 7 days (met).
A = EventFacts(1, date(2026, 3, 1), _utc("2026-03-05T02:00:00"), _utc("2026-03-06T01:00:00"),
               _all_milestones("2026-03-12T20:00:00"))
# B: onset 02-20, raised 03-05, verified 03-08, response done 03-20 → 13 (missed), 3 (missed), 12 (missed).
B = EventFacts(2, date(2026, 2, 20), _utc("2026-03-05T02:00:00"), _utc("2026-03-08T02:00:00"),
               _all_milestones("2026-03-20T02:00:00"))
# C: onset 03-04, raised 03-05 23:30 CST (15:30 UTC), verified 03-06 00:10 CST (16:10 UTC on 03-05),
#    control measures missing → 1 (met), 1 (met), response undecided before 03-13 and missed after.
C = EventFacts(3, date(2026, 3, 4), _utc("2026-03-05T15:30:00"), _utc("2026-03-05T16:10:00"),
               {m: _utc("2026-03-07T02:00:00") for m in RESPONSE_MILESTONES if m != "control_measures"})


def _days(facts: EventFacts, as_of: date) -> list[tuple[int | None, bool | None]]:
    return [(s.days, s.met) for s in compute(facts, as_of).steps]


def test_each_event_equals_the_hand_computation() -> None:
    as_of = date(2026, 3, 10)
    assert _days(A, as_of) == [(4, True), (1, True), (7, True)]
    assert _days(B, as_of) == [(13, False), (3, False), (12, False)]
    assert _days(C, as_of) == [(1, True), (1, True), (None, None)]
    assert compute(C, as_of).missing_milestones == ("control_measures",)
    assert _days(C, date(2026, 3, 14)) == [(1, True), (1, True), (None, False)]  # 8 days after notification


def test_an_unverified_event_is_undecided_then_late() -> None:
    facts = EventFacts(4, None, _utc("2026-03-05T02:00:00"), None, {})
    assert _days(facts, date(2026, 3, 6)) == [(None, None), (None, None), (None, None)]
    assert _days(facts, date(2026, 3, 7)) == [(None, None), (None, False), (None, None)]


def test_the_district_aggregate_equals_the_hand_computation() -> None:
    agg = aggregate([compute(f, date(2026, 3, 10)) for f in (A, B, C)])
    steps = {s.name: s for s in agg.steps}
    # detection: 4, 13, 1 → 2 of 3 met, median 4; notification: 1, 3, 1 → 2 of 3, median 1;
    # response: 7, 12 decided (C undecided) → 1 of 2, median 9.5 → the bottleneck.
    assert (steps["detection"].met, steps["detection"].measured, steps["detection"].median_days) == (2, 3, 4.0)
    assert (steps["notification"].met, steps["notification"].measured, steps["notification"].median_days) == (2, 3, 1.0)
    assert (steps["response"].met, steps["response"].measured, steps["response"].median_days) == (1, 2, 9.5)
    assert steps["detection"].share_met == round(2 / 3, 4) and steps["response"].share_met == 0.5
    assert agg.bottleneck == "response" and agg.events == 3 and agg.all_met == 1


def test_no_events_no_bottleneck() -> None:
    agg = aggregate([])
    assert agg.bottleneck is None and all(s.share_met is None for s in agg.steps)
