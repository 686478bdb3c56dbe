"""`onemap import stock FILE`: stock movements (in / out, new items, minimum levels) from CSV, all-or-nothing."""
from __future__ import annotations

from pathlib import Path

import click

from cli.context import CliContext, pass_ctx
from cli.imports import import_
from cli.textfile import read_utf8
from command.stock import import_stock_csv
from gazetteer.errors import ImportRejected
from geo.db import session_scope


@import_.command(name="stock")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--district", default=None, help="District code (default: this deployment's DISTRICT_CODE).")
@pass_ctx
def stock(ctx: CliContext, file: Path, district: str | None) -> None:
    """CSV columns site_code,item_code,kind,quantity[,source_id,item_name,category,unit,min_level,time,note]."""
    data = read_utf8(file)
    try:
        with session_scope(ctx.services.session_factory) as session:
            count = import_stock_csv(session, data, district_code=district or ctx.settings.district_code)
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.announce_bulk_change()
    click.echo(f"applied {count} stock movements from {file.name} (repeated source_id rows skipped)")
