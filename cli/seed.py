"""`onemap seed --demo`: load the deterministic demo data set once."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from tqdm import tqdm

from cli.context import CliContext, pass_ctx
from cli.dates import DAY
from demo.seed import seed_demo
from geo.dates import CST
from geo.db import session_scope


@click.command()
@click.option("--demo", is_flag=True, required=True, help="Load the demo data set (Changning + city).")
@click.option("--end", "end_date", type=DAY, default=None,
              help="Last day of the demo history (default: today in China Standard Time).")
@click.option("--keys-dir", type=click.Path(path_type=Path), default=Path("var/keys"), show_default=True,
              help="Where the demo users' SM2 private keys are written.")
@pass_ctx
def seed(ctx: CliContext, demo: bool, end_date: datetime | None, keys_dir: Path) -> None:
    """Load demo data; a second run finds it present and writes nothing."""
    services = ctx.services
    if services.cipher is None:
        raise click.ClickException("PII_KEYS is not set: personal data cannot be encrypted (see README)")
    end = end_date.date() if end_date else datetime.now(CST).date()
    bar = tqdm(total=7, desc="seed", unit="step")

    def progress(step: str) -> None:
        bar.set_postfix_str(step)
        if not step.startswith("case reports "):
            bar.update(1)

    with session_scope(services.session_factory) as session:
        report = seed_demo(session, cipher=services.cipher, end=end, keys_dir=keys_dir, progress=progress)
    bar.close()
    ctx.announce_bulk_change()
    if report.skipped:
        click.echo("demo data already present: nothing written")
        return
    counts = ", ".join(f"{k} {v:,}" for k, v in report.counts.items())
    click.echo(f"demo data loaded in {report.seconds:.1f} s (end {end}): {counts}")
