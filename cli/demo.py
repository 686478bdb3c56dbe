"""`onemap demo fieldwork`: play the demo's 流调 story on the event the warning run raised (after `onemap warn run`)."""
from __future__ import annotations

import click

from cli.context import CliContext, pass_ctx


@click.group()
def demo() -> None:
    """Scripted demo stories on top of the seeded demo."""


@demo.command("fieldwork")
@click.option("--step", "steps", multiple=True, default=None,
              type=click.Choice(["investigation", "places", "contacts", "cases", "milestones", "closed"]),
              help="Play only these steps (repeatable, in the story's order); default: the whole story.")
@pass_ctx
def fieldwork(ctx: CliContext, steps: tuple[str, ...]) -> None:
    """Investigation, 3 exposure places, 12 contacts, 2 become cases, response, close, evaluation, review.

    Idempotent: a second run changes nothing.
    """
    from demo.fieldwork_story import STEP_ZH, STEPS, StoryError, play

    services = ctx.services
    if services.cipher is None:
        raise click.ClickException("PII_KEYS is not set: contacts' identities cannot be encrypted (see README)")
    chosen = [s for s in STEPS if not steps or s in steps]
    try:
        with services.session_factory() as session, session.begin():
            for step in chosen:
                story = play(session, step, services.cipher)
                click.echo(f"  {step:<14} {STEP_ZH[step]}")
    except StoryError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.announce_bulk_change()
    click.echo(f"fieldwork story played on warning event {story.event_id} (demo end {story.end})")
