"""`onemap dispatch deliver|check-overdue`: the dispatch workers."""
from __future__ import annotations

import time
from datetime import timedelta

import click

from cli.context import CliContext, pass_ctx
from dispatch.outbox import OutboxConfigError, deliver_due, target_from_settings
from dispatch.scheduled import check_overdue
from dispatch.service import Publish, utcnow


@click.group()
def dispatch() -> None:
    """任务派单: deliver callbacks to the city, remind and escalate overdue tasks."""


@dispatch.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@pass_ctx
def deliver(ctx: CliContext, once: bool, interval: float) -> None:
    """Deliver pending callbacks (signed, in order per task, retried with backoff until 2xx)."""
    try:
        target = target_from_settings(ctx.settings)
    except OutboxConfigError as exc:
        raise click.ClickException(str(exc)) from None
    while True:
        stats = deliver_due(ctx.services.session_factory, target=target)
        if stats.delivered or stats.failed:
            click.echo(f"delivered {stats.delivered}, failed {stats.failed}")
        if once:
            return
        time.sleep(interval)


@dispatch.command("check-overdue")
@click.option("--once", is_flag=True, help="Check once, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between checks.")
@click.option("--escalate-after", default=120, show_default=True, help="Minutes from reminder to escalation.")
@pass_ctx
def check_overdue_cmd(ctx: CliContext, once: bool, interval: float, escalate_after: int) -> None:
    """Send 督办 reminders for overdue tasks and escalate those still open after a delay."""
    while True:
        with ctx.services.session_factory() as session, session.begin():
            result = check_overdue(session, utcnow(), escalate_after=timedelta(minutes=escalate_after),
                                   publish=_publisher(ctx))
        if result.reminded or result.escalated:
            click.echo(f"reminded {len(result.reminded)}, escalated {len(result.escalated)}")
        if once:
            return
        time.sleep(interval)


def _publisher(ctx: CliContext) -> Publish:
    """Live push of reminders to open screens (after commit)."""
    from ingest.events import ChangeEvent, publish_change

    def publish(message: dict[str, object]) -> None:
        try:
            publish_change(ctx.services.redis, ctx.settings.redis_namespace, ChangeEvent(**message))
        except Exception as exc:  # the reminder is committed; screens catch up on refresh
            click.echo(f"live push failed: {exc}", err=True)

    return publish
