"""`onemap warn run|series|backtest|worker|check-overdue` and `onemap forecast rt`."""
from __future__ import annotations

import logging
import signal as os_signal
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from cli.context import CliContext, pass_ctx
from feeds.warning import feed_alarm_source

CST = timezone(timedelta(hours=8))


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
@click.option("--date", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
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


@warn.command("series")
@click.option("--model", required=True,
              type=click.Choice(["ears-c1", "ears-c2", "ears-c3", "cusum", "ewma", "moving-percentile",
                                 "count-threshold"]))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Model parameter (repeatable).")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def series(model: str, params: tuple[str, ...], file: Any) -> None:
    """Run one detector over a date,count CSV; prints date,observed,threshold,alarm."""
    from alerting.series_cli import SeriesInputError, run_series

    parsed: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        parsed[name.strip()] = value.strip()
    try:
        click.echo(run_series(model, parsed, file.read()), nl=False)
    except SeriesInputError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None


@warn.command("backtest")
@click.option("--district", default=None, help="District code (default: settings.district_code).")
@click.option("--scan-every", default=7, show_default=True, type=click.IntRange(1, 30),
              help="Run the scan every N days.")
@click.option("--scan-replications", default=99, show_default=True, type=click.IntRange(9, 999))
@pass_ctx
def backtest(ctx: CliContext, district: str | None, scan_every: int, scan_replications: int) -> None:
    """Run the models over the stored history; signals per model and month, share inside injected outbreaks."""
    from alerting.backtest import run_backtest

    with ctx.services.session_factory() as session:
        report = run_backtest(session, district_code=district or ctx.settings.district_code,
                              scan_every_days=scan_every, scan_replications=scan_replications)
    click.echo(report.format())


@warn.command("check-overdue")
@pass_ctx
def check_overdue_cmd(ctx: CliContext) -> None:
    """Escalate signals whose verification did not start in time."""
    from alerting.service import check_overdue

    with ctx.services.session_factory() as session, session.begin():
        ids = check_overdue(session, datetime.now(timezone.utc), publish=_publisher(ctx))
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
@click.argument("file", type=click.File("r", encoding="utf-8"))
def rt(si_file: Path, window: int, file: Any) -> None:
    """Rt by Cori et al. over sliding windows of a date,count CSV (EpiEstim's columns)."""
    from alerting.series_cli import SeriesInputError, run_rt

    try:
        sys.stdout.write(run_rt(si_file.read_text(encoding="utf-8"), file.read(), window))
    except SeriesInputError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None


COMMANDS = (warn, forecast)
