"""`onemap simulate`: a live feed for demonstrations (cases, syndromic counts, team GPS, stock)."""
from __future__ import annotations

import logging
import os
import random
import signal
import threading

import click

from cli.context import CliContext, pass_ctx


@click.command()
@click.option("--rate", default=5.0, show_default=True, type=click.FloatRange(0.1, 5000), help="Records per second.")
@click.option("--via", type=click.Choice(["stream", "http"]), default="stream", show_default=True)
@click.option("--url", default="http://127.0.0.1:8050", show_default=True, help="Base URL for --via http.")
@click.option("--token", default=lambda: os.environ.get("ONEMAP_TOKEN", ""),
              help="Bearer token for --via http (default: $ONEMAP_TOKEN).")
@click.option("--district", default=None, help="District code (default: the deployment's).")
@click.option("--duration", default=None, type=float, help="Seconds to run (default: until stopped).")
@click.option("--seed", "seed_", default=None, type=int, help="Random seed, for a repeatable feed.")
@pass_ctx
def simulate(ctx: CliContext, rate: float, via: str, url: str, token: str, district: str | None,
             duration: float | None, seed_: int | None) -> None:
    """Feed realistic live records into intake until stopped."""
    from ingest.simulate import Simulator, http_sender, load_world, run, stream_sender

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    svc = ctx.services
    with svc.session_factory() as session:
        try:
            world = load_world(session, district or ctx.settings.district_code)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    if via == "http" and not token:
        raise click.ClickException("--via http needs --token or ONEMAP_TOKEN (an ingest-capable bearer token)")
    send = http_sender(url, token) if via == "http" else stream_sender(svc.redis, ctx.settings.redis_namespace)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"simulating district {world.district_code}: {len(world.institutions)} institutions, "
               f"{len(world.teams)} teams, {len(world.stock)} stock items, {rate}/s via {via}")
    sent = run(Simulator(world, rng=random.Random(seed_)), send, rate=rate, duration=duration, stop=stop)
    click.echo(f"sent {sent} records")
