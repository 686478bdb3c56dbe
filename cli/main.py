"""Entry point: `onemap <group> <command>`."""
from __future__ import annotations

import getpass

import click

from accounts.audit import set_client_address
from cli import roster as _roster  # noqa: F401  (adds `onemap import roster`)
from cli import stock as _stock  # noqa: F401  (adds `onemap import stock`)
from cli.assist import assist
from cli.city import city_standin
from cli.context import CliContext
from cli.db import db
from cli.demo import demo
from cli.dispatch import dispatch
from cli.exchange import exchange
from cli.feeds import feeds  # also adds `onemap import feed`
from cli.imports import import_
from cli.rollups import rollups
from cli.security import COMMANDS as SECURITY_COMMANDS
from cli.seed import seed
from cli.serve import serve
from cli.simulate import simulate
from cli.warn import COMMANDS as WARN_COMMANDS
from cli.worker import worker


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """OneMap 一张图 — surveillance, early warning and emergency command."""
    ctx.ensure_object(CliContext)
    set_client_address(f"cli:{_os_user()}")  # audit rows written by commands say where they came from


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


for command in (db, seed, import_, serve, worker, simulate, *WARN_COMMANDS, feeds, dispatch, exchange, assist, city_standin, rollups, demo,
                *SECURITY_COMMANDS):
    cli.add_command(command)
