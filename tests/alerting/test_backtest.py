"""The backtest over the demo's three years: signals per model and month, share inside injected outbreaks."""
from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from alerting.backtest import run_backtest


def test_backtest_counts_signals_and_finds_the_injected_outbreaks(demo_data: Any, services: Any) -> None:
    with services.session_factory() as db:
        report = run_backtest(db, district_code="310105", scan_every_days=7, scan_replications=99)
    text = report.format()
    print("\n" + text)
    table = report.per_model_month()
    assert {"moving_percentile", "cusum", "ears_c1", "ears_c2", "ears_c3", "scan"} <= set(table)
    assert sum(sum(c.values()) for c in table.values()) == len(report.signals)
    share = report.share_inside()
    assert all(0 <= inside <= total for inside, total in share.values())
    found = report.detections()
    assert len(found["current-diarrhoea-xianxia"]) >= 2, found
    assert len(found["influenza-zhoujiaqiao-1y"]) >= 2, found
    assert "share inside injected outbreaks" in text and report.start.strftime("%Y-%m") in text


def test_backtest_command_prints_the_tables(demo_data: Any, settings: Any) -> None:
    from cli.context import CliContext
    from cli.main import cli

    result = CliRunner().invoke(cli, ["warn", "backtest", "--scan-every", "14", "--scan-replications", "49"],
                                obj=CliContext(settings=settings))
    assert result.exit_code == 0, result.output
    assert "signals per model and month" in result.output and "current-diarrhoea-xianxia" in result.output
