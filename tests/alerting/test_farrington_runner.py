"""Farrington flexible in the warning runner: ISO weeks, the last completed week only, skipped without history.

A fictional district (tests/alerting/test_loop.py `world`) gets 70 completed weeks of cases of its test disease
ending on Sunday 2030-06-09; the run is on Wednesday 2030-06-12. Street 1 has a spike in that last completed
week; street 2 is quiet then but has a spike in the current, incomplete week (which must not count).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from alerting.config import FarringtonCfg, WarnConfig
from alerting.detectors.farrington import farrington_flexible
from alerting.farrington_alarms import last_completed_sunday
from alerting.runner import run_all
from store.cases import CaseReport
from store.labels import model_name
from store.signals import Signal
from tests.alerting.test_loop import World, world  # noqa: F401  (the fictional district)

AS_OF = date(2030, 6, 12)  # a Wednesday
LAST_SUNDAY = date(2030, 6, 9)
WEEKS = 70
FIRST_MONDAY = LAST_SUNDAY - timedelta(days=7 * WEEKS - 1)
BASE = [2, 3, 1, 4, 2, 3, 2, 1, 3, 2, 4, 2, 3]
SPIKE = 20
CST = timezone(timedelta(hours=8))
MODEL = "farrington_flexible"


def _weekly(street: int) -> np.ndarray:
    """The counts the test plants per completed week (street 1 spikes in the last one)."""
    counts = np.array([BASE[(k + 5 * street) % len(BASE)] for k in range(WEEKS)], dtype=float)
    if street == 0:
        counts[-1] = SPIKE
    return counts


def _case(w: World, street: int, onset: date, n: int) -> CaseReport:
    reported = datetime.combine(onset + timedelta(days=1), time(9), tzinfo=CST)
    if onset >= AS_OF - timedelta(days=2):
        reported = datetime.combine(AS_OF, time(8), tzinfo=CST)  # known by the end of the run's day
    return CaseReport(source_id=f"farr-{w.district}-{street}-{onset.isoformat()}-{n}", disease_code=w.disease,
                      onset_date=onset, diagnosis_time=reported, report_time=reported, district_code=w.district,
                      region_code=w.streets[street])


@pytest.fixture(scope="module")
def cases(services: Any, world: World) -> World:  # noqa: F811
    with services.session_factory() as db, db.begin():
        for street in (0, 1):
            for k, count in enumerate(_weekly(street)):
                monday = FIRST_MONDAY + timedelta(days=7 * k)
                for n in range(int(count)):
                    db.add(_case(world, street, monday + timedelta(days=n % 7), n))
        for n in range(30):  # the current week (Monday 2030-06-10 …) is not complete: it must not alarm
            db.add(_case(world, 1, LAST_SUNDAY + timedelta(days=1 + n % 3), 100 + n))
    return world


def _cfg(**farrington: Any) -> WarnConfig:
    return WarnConfig(farrington=FarringtonCfg(**farrington))


def _run(services: Any, w: World, as_of: date, cfg: WarnConfig) -> Any:
    with services.session_factory() as db, db.begin():
        return run_all(db, as_of=as_of, district_code=w.district, models=(MODEL,), config=cfg)


def _alarms(services: Any, w: World) -> list[Signal]:
    with services.session_factory() as db:
        return list(db.scalars(select(Signal).where(Signal.district_code == w.district, Signal.model == MODEL)
                               .order_by(Signal.region_code)))


def test_the_last_completed_week_is_the_one_evaluated() -> None:
    assert last_completed_sunday(AS_OF) == LAST_SUNDAY
    assert last_completed_sunday(LAST_SUNDAY) == LAST_SUNDAY  # a Sunday run sees its own week complete
    assert last_completed_sunday(LAST_SUNDAY + timedelta(days=1)) == LAST_SUNDAY


def test_last_n_weeks_gives_the_full_runs_last_week() -> None:
    y, mondays = _weekly(0), pd.date_range(FIRST_MONDAY, periods=WEEKS, freq="7D")
    full = farrington_flexible(y, dates=mondays, b=1)
    tail = farrington_flexible(y, dates=mondays, b=1, last_n_weeks=1)
    assert tail.evaluated.sum() == 1 and bool(tail.alarm[-1]) and bool(full.alarm[-1])
    assert tail.threshold[-1] == pytest.approx(full.threshold[-1], rel=1e-12)


def test_a_spike_in_the_last_completed_week_is_a_fused_alarm(services: Any, cases: World) -> None:
    w = cases
    report = _run(services, w, AS_OF, _cfg(b=1))
    assert "farrington_flexible" not in report.skipped
    alarms = _alarms(services, w)
    by_region = {a.region_code: a for a in alarms}
    assert set(by_region) == {w.district, w.streets[0]}, by_region  # street 2's incomplete week does not count
    street = by_region[w.streets[0]]
    assert (street.kind, street.window_start, street.window_end) == ("alarm", LAST_SUNDAY - timedelta(days=6),
                                                                      LAST_SUNDAY)
    assert street.observed == SPIKE and street.threshold is not None and street.threshold < SPIKE
    mondays = pd.date_range(FIRST_MONDAY, periods=WEEKS, freq="7D")
    direct = farrington_flexible(_weekly(0), dates=mondays, b=1)  # the weekly sums, built independently
    assert street.threshold == pytest.approx(direct.threshold[-1], abs=1e-3)
    district = farrington_flexible(_weekly(0) + _weekly(1), dates=mondays, b=1)
    assert by_region[w.district].threshold == pytest.approx(district.threshold[-1], abs=1e-3)
    ev = street.evidence
    assert ev["iso_week"] == "2030-W23" and ev["level"] == "street" and ev["series"]["counts"][-1] == SPIKE
    assert street.params["b"] == 1 and street.params["thresholdMethod"] == "delta" and "limit54" in street.params
    assert model_name(MODEL) == model_name("farrington-flexible") == "Farrington灵活法"
    with services.session_factory() as db:
        event = db.get(Signal, street.event_id)
        assert event is not None and event.kind == "event" and event.origin == "fusion"
        assert "cases:farrington_flexible" in event.evidence["models"]
        assert street.id in event.evidence["alarm_ids"]


def test_a_rerun_later_in_the_week_keeps_the_same_alarm(services: Any, cases: World) -> None:
    _run(services, cases, AS_OF, _cfg(b=1))
    before = [(a.id, a.window_end, a.fire_count) for a in _alarms(services, cases)]
    report = _run(services, cases, AS_OF + timedelta(days=2), _cfg(b=1))
    assert report.created == 0 and report.refired == 0
    assert [(a.id, a.window_end, a.fire_count) for a in _alarms(services, cases)] == before


def test_short_history_is_skipped_with_a_logged_reason(services: Any, cases: World,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="alerting.farrington_alarms")
    before = len(_alarms(services, cases))
    report = _run(services, cases, AS_OF + timedelta(days=7), _cfg(b=2))  # 52·2 + 3 + 1 = 108 weeks > 71
    assert report.skipped["farrington_flexible"].startswith("history too short: 71 completed weeks")
    assert report.alarms.get(MODEL) == 0 and len(_alarms(services, cases)) == before
    assert any("history too short" in r.getMessage() for r in caplog.records)


def test_control_parameters_are_validated_under_rs_names() -> None:
    cfg = WarnConfig.model_validate({"farrington": {"b": 3, "noPeriods": 10, "thresholdMethod": "nbPlugin",
                                                    "pastWeeksNotIncluded": 26}})
    assert cfg.farrington.control()["no_periods"] == 10 and cfg.farrington.weeks_needed() == 52 * 3 + 3 + 1
    for bad in ({"thresholdMethod": "quantile"}, {"limit54": [5, 0]}, {"b": 0}, {"pThreshold": 0.1}):
        with pytest.raises(ValueError):
            WarnConfig.model_validate({"farrington": bad})
