"""`onemap warn run|series|backtest|worker|check-overdue` and `onemap forecast rt`."""
from __future__ import annotations

import logging
import signal as os_signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.context import CliContext, pass_ctx
from cli.dates import DAY
from cli.textfile import InputFileError, read_utf8
from feeds.warning import feed_alarm_source
from geo.dates import CST


def _publisher(ctx: CliContext) -> Any:
    """Live events for runs from the command line (the web relays them to open screens)."""
    from ingest.events import ChangeEvent, publish_change

    svc = ctx.services

    def publish(message: dict[str, Any]) -> None:
        try:
            publish_change(svc.redis, svc.settings.redis_namespace, ChangeEvent(**message))
        except Exception as exc:  # the signals are committed; screens catch up on refresh
            logging.getLogger(__name__).warning("live push failed: %s", exc)

    return publish


def _district(ctx: CliContext, district: str | None, all_districts: bool) -> str | None:
    return None if all_districts else (district or ctx.settings.district_code)


@click.group()
def warn() -> None:
    """Early-warning models: run them, test a series, backtest, the worker loop."""


# Other departments' feeds raise their alarms in the same runs (alerting itself must not import feeds).
ALARM_SOURCES = (feed_alarm_source,)


@warn.command("run")
@click.option("--date", "as_of", type=DAY, default=None,
              help="Day to evaluate (default: today, China Standard Time).")
@click.option("--district", default=None, help="District code (default: settings.district_code).")
@click.option("--all-districts", is_flag=True, help="Every district of the city.")
@pass_ctx
def run(ctx: CliContext, as_of: datetime | None, district: str | None, all_districts: bool) -> None:
    """Run all models for one day and raise / update signals."""
    from alerting.runner import run_all

    day = as_of.date() if as_of else datetime.now(CST).date()
    with ctx.services.session_factory() as session, session.begin():
        report = run_all(session, as_of=day, district_code=_district(ctx, district, all_districts),
                         publish=_publisher(ctx), sources=ALARM_SOURCES)
    click.echo(f"warn run {day} ({report.district_code or 'all districts'}) in {report.seconds:.2f} s: "
               f"{report.created} new, {report.refired} re-fired, {report.unchanged} unchanged signals")
    for model, n in sorted(report.alarms.items()):
        click.echo(f"  {model:<18} {n:>4} alarms  {report.model_seconds.get(model, 0):6.2f} s")
    for model, why in sorted(report.skipped.items()):
        click.echo(f"  {model:<18} skipped: {why}")


@warn.command("series")
@click.option("--model", required=True,
              type=click.Choice(["ears-c1", "ears-c2", "ears-c3", "cusum", "ewma", "moving-percentile",
                                 "count-threshold", "farrington-flexible"]))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Model parameter (repeatable).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def series(model: str, params: tuple[str, ...], file: Path) -> None:
    """Run one detector over a date,count CSV; prints date,observed,threshold,alarm.

    Daily rows, except farrington-flexible: one row per week dated by its Monday. cusum with
    --param m=<expected count> follows R's algo.cusum (k, h, trans=standard|rossi).
    """
    from alerting.series_cli import SeriesInputError, run_series

    parsed: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        parsed[name.strip()] = value.strip()
    try:
        click.echo(run_series(model, parsed, read_utf8(file)), nl=False)
    except SeriesInputError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None


@warn.command("scan")
@click.option("--max-share", default=0.5, show_default=True, type=click.FloatRange(0, 1, min_open=True),
              help="Largest share of all cases a cluster may hold.")
@click.option("--max-days", default=7, show_default=True, type=click.IntRange(1, 366),
              help="Longest time window (days ending on the file's last date).")
@click.option("--max-radius-km", default=None, type=click.FloatRange(0), help="Largest circle radius (km).")
@click.option("--replications", default=999, show_default=True, type=click.IntRange(0, 9999),
              help="Monte Carlo replications for the p-values.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0), help="Random seed (same seed, same p).")
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Clusters with p ≤ alpha are marked significant.")
@click.option("--secondary", default=5, show_default=True, type=click.IntRange(0, 50),
              help="At most this many secondary clusters.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def scan(file: Path, max_share: float, max_days: int, max_radius_km: float | None, replications: int, seed: int,
         alpha: float, secondary: int) -> None:
    """Space-time permutation scan over a region,lon,lat,date,count CSV; prints the clusters as JSON.

    The study period runs from the first to the last date in the file; clusters end on the last date.
    """
    import json

    from alerting.scan_cli import ScanInputError, ScanOptions, run_scan

    options = ScanOptions(max_share=max_share, max_days=max_days, replications=replications, seed=seed,
                          alpha=alpha, max_radius_km=max_radius_km, secondary=secondary)
    try:
        report = run_scan(read_utf8(file), options)
    except ScanInputError as exc:
        raise InputFileError(f"{file}: {exc.code}: {exc}") from None
    click.echo(json.dumps(report, ensure_ascii=False, indent=1))


@warn.command("scorecard")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0), help="Random seed of the simulation.")
@click.option("--series", "n_series", default=None, type=click.IntRange(1, 2000),
              help="Simulated series, one outbreak each (default 108; 18 with --quick).")
@click.option("--quick", is_flag=True, help="A small run (18 series) for a quick look.")
def scorecard(as_json: bool, seed: int, n_series: int | None, quick: bool) -> None:
    """Every model and the fused events on simulated outbreaks (Noufaily et al. 2013):
    probability of detection, specificity, positive predictive value, median delay."""
    from alerting.scorecard import DEFAULT_SERIES, run_scorecard

    card = run_scorecard(n_series or DEFAULT_SERIES, seed=seed, quick=quick and n_series is None)
    if as_json:
        import json

        click.echo(json.dumps(card.as_json(), ensure_ascii=False, indent=1))
        return
    click.echo(card.format(), nl=False)


@warn.command("backtest")
@click.option("--district", default=None, help="District code (default: settings.district_code).")
@click.option("--scan-every", default=7, show_default=True, type=click.IntRange(1, 30),
              help="Run the scan every N days.")
@click.option("--scan-replications", default=99, show_default=True, type=click.IntRange(9, 999))
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: the tables, events_per_district_week and each outbreak's first event.")
@pass_ctx
def backtest(ctx: CliContext, district: str | None, scan_every: int, scan_replications: int, as_json: bool) -> None:
    """Run the models over the stored history; signals per model and month, share inside injected outbreaks,
    and the warning events fused from the alarms (events reaching the inbox per district-week)."""
    from alerting.backtest import run_backtest

    with ctx.services.session_factory() as session:
        report = run_backtest(session, district_code=district or ctx.settings.district_code,
                              scan_every_days=scan_every, scan_replications=scan_replications)
    if as_json:
        import json

        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
        return
    click.echo(report.format())


@warn.command("check-overdue")
@pass_ctx
def check_overdue_cmd(ctx: CliContext) -> None:
    """Escalate signals whose verification did not start in time."""
    from alerting.service import check_overdue

    with ctx.services.session_factory() as session, session.begin():
        ids = check_overdue(session, datetime.now(UTC), publish=_publisher(ctx))
    click.echo(f"escalated {len(ids)} signal(s)")


@warn.command("worker")
@click.option("--debounce", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds without new data before a run.")
@click.option("--daily-at", default="06:30", show_default=True, help="Daily run time (HH:MM, CST).")
@pass_ctx
def worker(ctx: CliContext, debounce: float, daily_at: str) -> None:
    """Run the models after intake (debounced), daily, and escalate overdue signals; SIGTERM stops it."""
    from alerting.triggers import WarnLoop, run_when_dirty

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        at = datetime.strptime(daily_at, "%H:%M").time()
    except ValueError:
        raise click.BadParameter("use HH:MM", param_hint="--daily-at") from None
    svc = ctx.services
    loop = WarnLoop(redis=svc.redis, namespace=svc.settings.redis_namespace, session_factory=svc.session_factory,
                    district_code=svc.settings.district_code, publish=_publisher(ctx), debounce_s=debounce,
                    daily_at=at, sources=ALARM_SOURCES)
    stop = threading.Event()
    for sig in (os_signal.SIGTERM, os_signal.SIGINT):
        os_signal.signal(sig, lambda *_: stop.set())
    click.echo(f"warn worker watching {svc.settings.redis_namespace}:warn:dirty")
    run_when_dirty(loop, stop)


@click.group()
def forecast() -> None:
    """Reproduction number and projections."""


@forecast.command("rt")
@click.option("--si-distr", "si_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Serial interval CSV with columns k,p (k = 0, 1, 2, ...).")
@click.option("--window", default=7, show_default=True, type=click.IntRange(1, 60))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def rt(si_file: Path, window: int, file: Path) -> None:
    """Rt by Cori et al. over sliding windows of a date,count CSV (EpiEstim's columns)."""
    from alerting.series_cli import SeriesInputError, run_rt

    try:
        sys.stdout.write(run_rt(read_utf8(si_file), read_utf8(file), window))
    except SeriesInputError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None


COMMANDS = (warn, forecast)
