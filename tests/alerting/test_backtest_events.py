"""Acceptance of the warning events on the demo's history (any end date): the alert budget and early detection."""
from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from alerting.backtest import run_backtest
from alerting.events import grade_rank


def test_events_keep_the_budget_and_flag_each_planted_outbreak_within_two_days(demo_data: Any, services: Any) -> None:
    with services.session_factory() as db:
        report = run_backtest(db, district_code="310105", scan_every_days=7, scan_replications=99)
    print("\n" + report.format())
    assert report.events and report.inbox_events()
    assert report.events_per_district_week() <= 2.0, report.events_per_district_week()
    found = report.outbreak_events()
    assert set(found) == {"current-diarrhoea-xianxia", "hfmd-chengjiaqiao-2y", "influenza-zhoujiaqiao-1y"}
    for key, ev in found.items():
        assert ev is not None, (key, found)
        assert 0 <= ev["day_offset"] <= 2 and grade_rank(ev["grade"]) >= grade_rank("yellow"), (key, ev)


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
