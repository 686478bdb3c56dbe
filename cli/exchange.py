"""`onemap exchange send|kpis`: send district data up to the city platform; show the exchange figures."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from cli.context import CliContext, pass_ctx
from exchange import kpis
from exchange.schema import json_schemas
from exchange.sender import ExchangeConfigError, ExchangeTarget, registered_city_key, send_due, target_from_settings
from geo.dates import CST


@click.group()
def exchange() -> None:
    """数据交换: district → city exchange of business data."""


def _target(ctx: CliContext) -> ExchangeTarget:
    with ctx.services.session_factory() as session:
        city_key = registered_city_key(session, ctx.settings.city_key_id)
    try:
        return target_from_settings(ctx.settings, city_key)
    except ExchangeConfigError as exc:
        raise click.ClickException(str(exc)) from None


@exchange.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 1000))
@pass_ctx
def send(ctx: CliContext, once: bool, interval: float, batch_size: int) -> None:
    """Send queued records (signed batches, identity sealed for the city, retried with backoff)."""
    target = _target(ctx)
    while True:
        stats = send_due(ctx.services.session_factory, target=target, cipher=ctx.services.cipher,
                         district_code=ctx.settings.district_code, size=batch_size)
        if stats.batches or stats.failed:
            click.echo(f"delivered {stats.delivered}, refused {stats.refused}, superseded {stats.superseded}, "
                       f"failed {stats.failed}")
        if once:
            return
        time.sleep(interval)


@exchange.command("kpis")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@pass_ctx
def kpis_cmd(ctx: CliContext, days: int) -> None:
    """Print the exchange figures of the last DAYS days (JSON)."""
    now = datetime.now(UTC)
    until = now.astimezone(CST).date()
    with ctx.services.session_factory() as session:
        answer = kpis.summary(session, since=until - timedelta(days=days - 1), until=until,
                              deadline=timedelta(hours=ctx.settings.exchange_deadline_hours), now=now)
    click.echo(json.dumps(answer, ensure_ascii=False, default=str, indent=2))


@exchange.command("schema")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/exchange"),
              show_default=True)
def schema_cmd(out: Path) -> None:
    """Write the exchange schema's JSON Schema files (what docs/exchange.md documents)."""
    out.mkdir(parents=True, exist_ok=True)
    for stem, schema in json_schemas().items():
        (out / f"{stem}.schema.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n",
                                                 encoding="utf-8")
        click.echo(f"{out / stem}.schema.json")
