"""`onemap assist send|check-overdue`: the 协查 workers (outbox to the city relay; 督办 of overdue requests)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import click

from assist.live import Publish
from assist.scheduled import check_overdue
from assist.sender import AssistConfigError, send_due, target_from_settings
from cli.context import CliContext, pass_ctx


@click.group()
def assist() -> None:
    """跨地区信息协查: send messages to the city relay, remind and escalate overdue requests."""


@assist.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@pass_ctx
def send(ctx: CliContext, once: bool, interval: float) -> None:
    """Send pending 协查 messages (signed, in order per request, retried with backoff)."""
    try:
        target = target_from_settings(ctx.settings)
    except AssistConfigError as exc:
        raise click.ClickException(str(exc)) from None
    while True:
        stats = send_due(ctx.services.session_factory, target=target, cipher=ctx.services.cipher,
                         publish=_publisher(ctx))
        if stats.delivered or stats.refused or stats.failed:
            click.echo(f"delivered {stats.delivered}, refused {stats.refused}, failed {stats.failed}")
        if once:
            return
        time.sleep(interval)


@assist.command("check-overdue")
@click.option("--once", is_flag=True, help="Check once, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between checks.")
@click.option("--escalate-after", default=120, show_default=True, help="Minutes from reminder to escalation.")
@pass_ctx
def check_overdue_cmd(ctx: CliContext, once: bool, interval: float, escalate_after: int) -> None:
    """督办: remind overdue 协查 requests, escalate those still open after a delay."""
    while True:
        with ctx.services.session_factory() as session, session.begin():
            result = check_overdue(session, datetime.now(UTC), escalate_after=timedelta(minutes=escalate_after),
                                   publish=_publisher(ctx))
        if result.reminded or result.escalated:
            click.echo(f"reminded {len(result.reminded)}, escalated {len(result.escalated)}")
        if once:
            return
        time.sleep(interval)


def _publisher(ctx: CliContext) -> Publish:
    """Live push of delivered, refused, reminded and escalated requests to open screens (after commit)."""
    from ingest.events import ChangeEvent, publish_change

    def publish(message: dict[str, object]) -> None:
        try:
            publish_change(ctx.services.redis, ctx.settings.redis_namespace, ChangeEvent(**message))
        except Exception as exc:  # committed already; screens catch up on their next refresh
            click.echo(f"live push failed: {exc}", err=True)

    return publish
