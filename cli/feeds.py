"""`onemap import feed KIND FILE` (all-or-nothing) and `onemap feeds warn|influence`."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

from cli.context import CliContext, pass_ctx
from cli.dates import DAY
from cli.imports import import_
from cli.textfile import check_utf8
from feeds.importers import FeedImportRejected, import_file
from feeds.schemas import FEED_KINDS
from geo.dates import CST
from geo.db import session_scope
from ingest.events import ChangeEvent, publish_changes


def _publish(ctx: CliContext, changes: list[ChangeEvent]) -> None:
    try:
        publish_changes(ctx.services.redis, ctx.settings.redis_namespace, changes)
    except Exception as exc:  # committed; screens catch up on their next refresh
        click.echo(f"warning: could not announce the changes ({exc})", err=True)


@import_.command(name="feed")
@click.argument("kind", type=click.Choice(FEED_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def import_feed(ctx: CliContext, kind: str, file: Path) -> None:
    """Import a CSV or JSON file of one feed kind (formats: docs/feeds.md); nothing is written if a row is bad."""
    check_utf8(file)
    try:
        with session_scope(ctx.services.session_factory) as session:
            report = import_file(session, kind=kind, path=file)
    except FeedImportRejected as exc:
        for e in exc.errors:
            click.echo(str(e), err=True)
        raise click.ClickException(f"{file.name} refused: {exc.total_errors} bad rows, nothing imported") from None
    _publish(ctx, report.changes)
    click.echo(f"{kind}: {report.rows} rows — {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged")


@click.group(name="feeds")
def feeds() -> None:
    """Other departments' feeds: warning models and the influence-factor analysis."""


@feeds.command()
@click.option("--as-of", "as_of", type=DAY, default=None, help="Day to run for (default today).")
@click.option("--district", default=None, help="District code (default: DISTRICT_CODE).")
@pass_ctx
def warn(ctx: CliContext, as_of: datetime | None, district: str | None) -> None:
    """Run EARS/CUSUM on absenteeism and sales and the opinion matcher; raise their signals."""
    from alerting.runner import run_all
    from feeds.warning import feed_alarm_source

    day = as_of.date() if as_of else datetime.now(CST).date()
    district = district or ctx.settings.district_code
    events: list[ChangeEvent] = []
    with session_scope(ctx.services.session_factory) as session:
        report = run_all(session, as_of=day, district_code=district, models=(), sources=[feed_alarm_source],
                         publish=lambda msg: events.append(ChangeEvent(**msg)))
    _publish(ctx, events)
    click.echo(f"feed signals for {day}: {report.created} created, {report.refired} refired, "
               f"{report.unchanged} unchanged")


@feeds.command()
@click.option("--disease", required=True)
@click.option("--district", default=None)
@click.option("--end", type=DAY, default=None)
@pass_ctx
def influence(ctx: CliContext, disease: str, district: str | None, end: datetime | None) -> None:
    """Fit the influence-factor model and print it as JSON."""
    from feeds.influence import InfluenceError, analyse_influence

    day: date = end.date() if end else datetime.now(CST).date()
    with ctx.services.session_factory() as session:
        try:
            result = analyse_influence(session, district_code=district or ctx.settings.district_code,
                                       disease_code=disease, end=day)
        except InfluenceError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
