"""`onemap import regions|institutions FILE`: load real geodata, all-or-nothing."""
from __future__ import annotations

from pathlib import Path

import click

from cli.context import CliContext, pass_ctx
from cli.textfile import check_utf8
from gazetteer.errors import ImportRejected
from gazetteer.institutions import import_institutions
from gazetteer.regions import read_regions, store_regions
from geo.db import session_scope

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(name="import")
def import_() -> None:
    """Import regions or institutions from GeoJSON, Shapefile, GeoPackage or CSV."""


@import_.command()
@click.argument("file", type=_FILE)
@click.option("--level", type=click.Choice(["district", "street", "grid"]), required=True)
@click.option("--crs", default=None, help="Input CRS when the file has none or it is GCJ02/BD09 (e.g. EPSG:4326).")
@click.option("--code-field", default="code", show_default=True)
@click.option("--name-field", default="name", show_default=True)
@click.option("--population-field", default=None)
@pass_ctx
def regions(ctx: CliContext, file: Path, level: str, crs: str | None, code_field: str, name_field: str,
            population_field: str | None) -> None:
    """Load region polygons; each is placed under the region one level up that contains it."""
    check_utf8(file)
    try:
        rows = read_regions(file, level=level, crs=crs, code_field=code_field, name_field=name_field,
                            population_field=population_field)
        with session_scope(ctx.services.session_factory) as session:
            count = store_regions(session, rows, source=f"import:{file.name}")
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.announce_bulk_change()
    click.echo(f"imported {count} {level} regions from {file.name}")


@import_.command()
@click.argument("file", type=_FILE)
@click.option("--crs", default=None, help="Input CRS (CSV defaults to WGS84; GCJ02 and BD09 are converted).")
@pass_ctx
def institutions(ctx: CliContext, file: Path, crs: str | None) -> None:
    """Load institutions (code, name, kind, flags, position)."""
    check_utf8(file)
    try:
        with session_scope(ctx.services.session_factory) as session:
            count = import_institutions(session, file, crs=crs)
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.announce_bulk_change()
    click.echo(f"imported {count} institutions from {file.name}")
