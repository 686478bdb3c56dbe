"""`onemap import roster FILE`: load the duty roster (应急值守) from CSV, all-or-nothing."""
from __future__ import annotations

from pathlib import Path

import click

from cli.context import CliContext, pass_ctx
from cli.imports import import_
from cli.textfile import read_utf8
from command.roster import import_roster_csv
from gazetteer.errors import ImportRejected
from geo.db import session_scope


@import_.command(name="roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--district", default=None, help="District code (default: this deployment's DISTRICT_CODE).")
@pass_ctx
def roster(ctx: CliContext, file: Path, district: str | None) -> None:
    """CSV columns day,duty_role,org_name,name,phone[,shift]; replaces the roster of the days in the file."""
    data = read_utf8(file)
    services = ctx.services
    if services.cipher is None:
        raise click.ClickException("PII_KEYS is not set: names and phones cannot be encrypted")
    try:
        with session_scope(services.session_factory) as session:
            count = import_roster_csv(session, data, cipher=services.cipher,
                                      district_code=district or ctx.settings.district_code)
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.announce_bulk_change()
    click.echo(f"imported {count} duty roster rows from {file.name}")
