"""`onemap simulate`: a live feed for demonstrations (cases, syndromic counts, team GPS, stock)."""
from __future__ import annotations

import logging
import os
import random
import signal
import threading
from datetime import datetime
from typing import Any

import click

from cli.context import CliContext, pass_ctx

STRESS_RATE = 200.0  # records per second of --stress


@click.command()
@click.option("--rate", default=None, type=click.FloatRange(0.1, 5000),
              help="Stress mode: this many records per second of every kind (benchmarks). "
                   "Default: a real district's pace (a few case reports an hour).")
@click.option("--stress", is_flag=True, help=f"Stress mode at {STRESS_RATE:g} records per second.")
@click.option("--via", type=click.Choice(["stream", "http"]), default="stream", show_default=True)
@click.option("--url", default="http://127.0.0.1:8050", show_default=True, help="Base URL for --via http.")
@click.option("--token", default=lambda: os.environ.get("ONEMAP_TOKEN", ""),
              help="Bearer token for --via http (default: $ONEMAP_TOKEN).")
@click.option("--district", default=None, help="District code (default: the deployment's).")
@click.option("--duration", default=None, type=float, help="Seconds to run (default: until stopped).")
@click.option("--seed", "seed_", default=None, type=int, help="Random seed, for a repeatable feed.")
@pass_ctx
def simulate(ctx: CliContext, rate: float | None, stress: bool, via: str, url: str, token: str,
             district: str | None, duration: float | None, seed_: int | None) -> None:
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
    send = http_sender(url, token) if via == "http" else stream_sender(svc.redis, ctx.settings.redis_namespace,
                                                                            ctx.settings.redis_wait_replicas)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim = Simulator(world, rng=random.Random(seed_))
    what = (f"{len(world.institutions)} institutions, {len(world.teams)} teams, {len(world.stock)} stock items")
    if rate is not None or stress:
        rate = rate or STRESS_RATE
        click.echo(f"simulating district {world.district_code} (stress): {what}, {rate}/s via {via}")
        sent = run(sim, send, rate=rate, duration=duration, stop=stop)
    else:
        sent = _run_realistic(sim, send, world.population, via=via, duration=duration, stop=stop, what=what)
    click.echo(f"sent {sent} records")


def _run_realistic(sim: Any, send: Any, population: int, *, via: str, duration: float | None,
                   stop: threading.Event, what: str) -> int:
    """The district's own pace: case rates of the demo's diseases in today's season × its population."""
    from demo.cases import annual_rates_on
    from geo.dates import CST
    from ingest.sim_feed import LiveFeed, SimRates, expected_cases_per_day, run_live

    def clock() -> datetime:
        return datetime.now(CST)

    rates = SimRates(cases_per_day=expected_cases_per_day(population, annual_rates_on(clock().date())))
    click.echo(f"simulating district {sim.world.district_code}: {what}; about {rates.cases_per_day:.0f} case "
               f"reports a day, team GPS every {rates.fix_every_s:g} s, via {via}")
    return run_live(LiveFeed(sim, rates, clock()), send, clock, duration=duration, stop=stop)
