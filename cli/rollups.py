"""`onemap rollups check|rebuild`: the daily case counts (case_daily) against the raw case reports."""
from __future__ import annotations

import click

from cli.context import CliContext, pass_ctx
from geo.db import session_scope
from store.rollups import differences, rebuild


@click.group()
def rollups() -> None:
    """Daily case-count rollups kept by the database (case_daily)."""


@rollups.command()
@click.option("--show", default=20, show_default=True, help="How many differences to list.")
@pass_ctx
def check(ctx: CliContext, show: int) -> None:
    """Recompute the rollup from case_report and report every difference (exit 1 if any)."""
    with session_scope(ctx.services.session_factory) as session:
        diffs = differences(session)
    for d in diffs[:show]:
        click.echo(str(d))
    click.echo(f"{len(diffs)} differences")
    if diffs:
        raise SystemExit(1)


@rollups.command("rebuild")
@pass_ctx
def rebuild_(ctx: CliContext) -> None:
    """Replace the rollup by a recomputation from case_report (repair after a check found differences)."""
    with session_scope(ctx.services.session_factory) as session:
        n = rebuild(session)
    click.echo(f"case_daily rebuilt: {n} rows")
    ctx.announce_bulk_change()
