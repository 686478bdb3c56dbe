"""`onemap db upgrade|downgrade|current`: Alembic migrations."""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cli.context import CliContext, pass_ctx

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it does not exist; True if it was created."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return not exists


@click.group()
def db() -> None:
    """Database set-up and migrations."""


@db.command()
@click.option("--revision", default="heads", show_default=True)
@pass_ctx
def upgrade(ctx: CliContext, revision: str) -> None:
    """Create the database if needed and migrate it to REVISION."""
    if ensure_database(ctx.settings.database_url):
        click.echo(f"created database {make_url(ctx.settings.database_url).database}")
    command.upgrade(alembic_config(ctx.settings.database_url), revision)
    click.echo(f"database at {revision}")


@db.command()
@click.option("--revision", default="base", show_default=True)
@pass_ctx
def downgrade(ctx: CliContext, revision: str) -> None:
    """Migrate the database down to REVISION (default: empty)."""
    command.downgrade(alembic_config(ctx.settings.database_url), revision)
    click.echo(f"database at {revision}")
