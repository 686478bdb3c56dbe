"""`onemap db upgrade|downgrade|current`: Alembic migrations."""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
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


def postgis_problem(conn: Connection) -> str | None:
    """Why the connected database cannot get PostGIS, with what to install or run; None when it can."""
    row = conn.execute(text("SELECT installed_version FROM pg_available_extensions WHERE name = 'postgis'")).first()
    server = conn.execute(text("SHOW server_version")).scalar() or "?"
    major = str(server).split(".")[0]
    where = f"the PostgreSQL {server} server at {conn.engine.url.host or 'localhost'}:{conn.engine.url.port or 5432}"
    if row is None:
        return (f"{where} has no PostGIS extension available. Install PostGIS 3 on that server "
                f"(Debian/Ubuntu: apt-get install postgresql-{major}-postgis-3; RHEL: postgis3x_{major}), "
                f"then run `onemap db upgrade` again.")
    if row.installed_version is None and not conn.execute(text(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        return (f"PostGIS is available on {where} but not enabled in database {conn.engine.url.database}, and "
                f"user {conn.engine.url.username} may not enable it: ask a superuser to run "
                f"`CREATE EXTENSION postgis;` in that database, then run `onemap db upgrade` again.")
    return None


def check_postgis(database_url: str) -> None:
    """Stop with a clear message when the database cannot have PostGIS (an external DATABASE_URL)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            problem = postgis_problem(conn)
    finally:
        engine.dispose()
    if problem:
        raise click.ClickException(problem)


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
    check_postgis(ctx.settings.database_url)
    command.upgrade(alembic_config(ctx.settings.database_url), revision)
    click.echo(f"database at {revision}")


@db.command()
@click.option("--revision", default="base", show_default=True)
@pass_ctx
def downgrade(ctx: CliContext, revision: str) -> None:
    """Migrate the database down to REVISION (default: empty)."""
    command.downgrade(alembic_config(ctx.settings.database_url), revision)
    click.echo(f"database at {revision}")
