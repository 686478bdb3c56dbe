"""Acceptance of the warning events on the demo's history: the alert budget and early detection.

Both hold for any end date: one test seeds its own database with the fixed end date 2026-11-30 (the result
must not depend on the day the suite runs), the other runs on the package's demo (the reference date; `make
test` runs it for every date of tests/reference_dates.txt, the fixed-end one only once).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from alerting.backtest import BacktestReport, run_backtest
from alerting.events import grade_rank
from demo.seed import seed_demo
from geo.db import session_scope
from tests.conftest import create_database, drop_database, make_test_settings, migrate

FIXED_END = date(2026, 11, 30)
OUTBREAKS = {"current-diarrhoea-xianxia", "hfmd-chengjiaqiao-2y", "influenza-zhoujiaqiao-1y"}


@pytest.fixture(scope="module")
def fixed_demo(settings: Any) -> Iterator[Any]:
    """The demo seeded into a new database with the fixed end date `FIXED_END`; dropped after the module."""
    from config.runtime import build_services

    name = f"onemap_bt_{uuid.uuid4().hex[:8]}"
    create_database(name)
    try:
        other = make_test_settings(name, pii_keys=settings.pii_keys.get_secret_value(),
                                   blind_index_key=settings.blind_index_key.get_secret_value())
        migrate(other)
        svc = build_services(other, pool_size=1)
        try:
            with session_scope(svc.session_factory) as session:
                seed_demo(session, cipher=svc.cipher, end=FIXED_END)
            yield svc
        finally:
            svc.engine.dispose()
    finally:
        drop_database(name)


def _backtest(services: Any) -> BacktestReport:
    with services.session_factory() as db:
        report = run_backtest(db, district_code="310105", scan_every_days=7, scan_replications=99)
    print("\n" + report.format())
    assert report.events and report.inbox_events()
    assert report.events_per_district_week() <= 2.0, report.events_per_district_week()  # the alert budget
    return report


def _flags_each_outbreak_within_two_days(report: BacktestReport) -> None:
    """Every planted outbreak has an event at ≥ 黄 within 2 days of its first case's onset (recorded by the seed)."""
    found = report.outbreak_events()
    assert set(found) == OUTBREAKS
    for o in report.outbreaks:
        assert o["first_onset"] and o["start"] == date.fromisoformat(o["first_onset"]) >= o["nominal_start"], o
    for key, ev in found.items():
        assert ev is not None, (key, found)
        assert 0 <= ev["day_offset"] <= 2 and grade_rank(ev["grade"]) >= grade_rank("yellow"), (key, ev)
        assert ev["models"] and ev["detected"] >= ev["first_onset"], (key, ev)


def test_fixed_end_demo_keeps_the_budget_and_flags_each_planted_outbreak_within_two_days(fixed_demo: Any) -> None:
    """On the demo ending 2026-11-30 (measured, docs/warning-events.md: diarrhoea +1 d, HFMD +1 d, influenza +0 d;
    the HFMD offset from the nominal start)."""
    _flags_each_outbreak_within_two_days(_backtest(fixed_demo))


def test_events_keep_the_budget_and_flag_each_planted_outbreak_on_any_demo(demo_data: Any, services: Any) -> None:
    """Any end date (the reference date): ≤ 2 inbox events per district-week, each outbreak at ≥ 黄 within 2 days
    of its first case's onset.

    The HFMD outbreak's first days (one or two cases a day at a street in the HFMD season) are seen by the case
    cluster rule (`warn.case_clusters`); without it the first event came at +4 d on the demos ending 2026-11-23
    and 2027-01-20. Measured from the nominal start (`starts_days_before_end`), which precedes the first case by
    up to 2 days, it came at +3 d on some dates (bench/backtest_dates.py, docs/warning-events.md).
    """
    _flags_each_outbreak_within_two_days(_backtest(services))


def test_backtest_json_prints_the_budget_and_each_outbreaks_first_event(demo_data: Any, settings: Any) -> None:
    from cli.context import CliContext
    from cli.main import cli

    result = CliRunner().invoke(cli, ["warn", "backtest", "--json", "--scan-every", "14", "--scan-replications", "49"],
                                obj=CliContext(settings=settings))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data["events_per_district_week"], float) and data["signals"] > 0
    assert set(data["outbreak_events"]) == {"current-diarrhoea-xianxia", "hfmd-chengjiaqiao-2y",
                                            "influenza-zhoujiaqiao-1y"}
    assert {"day_offset", "grade"} <= set(next(v for v in data["outbreak_events"].values() if v))
    assert "signals_per_model_month" in data and "share_inside" in data
