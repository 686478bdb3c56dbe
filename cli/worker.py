"""`onemap worker`: store records queued on the Redis intake stream (one consumer per process)."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading

import click

from cli.context import CliContext, pass_ctx


@click.command()
@click.option("--consumer", default=None, help="Consumer name (default: hostname-pid).")
@click.option("--batch", "batch_size", default=500, show_default=True, type=click.IntRange(1, 5000))
@click.option("--min-idle-ms", default=30_000, show_default=True, type=click.IntRange(100),
              help="Reclaim entries pending this long on another (dead) consumer.")
@click.option("--max-deliveries", default=5, show_default=True, type=click.IntRange(1),
              help="After this many failed deliveries an entry goes to the dead-letter stream.")
@click.option("--until-idle", is_flag=True, help="Exit once nothing is queued or pending.")
@pass_ctx
def worker(ctx: CliContext, consumer: str | None, batch_size: int, min_idle_ms: int, max_deliveries: int,
           until_idle: bool) -> None:
    """Consume the intake stream; SIGTERM finishes the current batch, then exits."""
    from ingest.worker import IntakeWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    name = consumer or f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    w = IntakeWorker(ctx.services, name, batch_size=batch_size, min_idle_ms=min_idle_ms,
                     max_deliveries=max_deliveries, claim_every_s=min(5.0, min_idle_ms / 1000))
    click.echo(f"worker {name} consuming {ctx.settings.redis_namespace}:intake")
    stats = w.run(stop, until_idle=until_idle)
    click.echo(f"worker {name} stopped: stored={stats.stored} dead={stats.dead} reclaimed={stats.reclaimed} "
               f"db_pauses={stats.db_pauses}")
