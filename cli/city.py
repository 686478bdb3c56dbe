"""`onemap city-standin`: run the stand-in city platform (receives callbacks, issues signed tasks).

For `onemap simulate --city`: call `start_city_standin(settings, ...)` and then
`issue_demo_tasks(standin, count=...)`; the stand-in runs in a daemon thread until `standin.stop()`.
"""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cli.context import CliContext, pass_ctx
from cli.textfile import read_utf8
from config import Settings
from dispatch.outbox import district_key_id
from dispatch.standin import CityStandin
from exchange.standin import EXCHANGE_PATH, ExchangeReceiver
from geo.geojson import point
from security.sm2 import public_key_from_private

CITY_KEY_ID = "city-platform"  # as registered by the demo accounts (accounts/demo_users.py)
DEFAULT_KEY_FILE = Path("var/keys/city_platform.key")
_DEMO_TASKS = [
    ("epi", "聚集性病例流行病学调查"), ("sampling", "密切接触者核酸采样"), ("disinfection", "疫点终末消毒"),
    ("screening", "重点场所症状排查"), ("supply", "防护物资调拨"),
]
# A few places in Changning (WGS84) for demo task locations.
_DEMO_POINTS = [(121.4241, 31.2204), (121.3936, 31.2126), (121.4090, 31.2318), (121.3759, 31.2001)]


def start_city_standin(settings: Settings, *, city_private_key_hex: str, district_url: str,
                       city_key_id: str = CITY_KEY_ID, host: str = "127.0.0.1", port: int = 0) -> CityStandin:
    """Start the stand-in in a background thread; its callback URL is `standin.callback_url`.

    It also takes the district's exchange batches at `standin.url + EXCHANGE_PATH` (CITY_EXCHANGE_URL).
    The district must be configured with CITY_CALLBACK_URL = that URL, and the city's public key must be
    registered as api_client `city_key_id` (the demo seed does this for "city-platform").
    """
    district_key = settings.district_signing_key.get_secret_value()
    if not district_key:
        raise click.ClickException("DISTRICT_SIGNING_KEY is not configured")
    district_public, key_id = public_key_from_private(district_key), district_key_id(settings.district_code)
    receiver = ExchangeReceiver(city_private_key_hex=city_private_key_hex, district_keys={key_id: district_public})
    return CityStandin(
        city_private_key_hex=city_private_key_hex, city_key_id=city_key_id, district_public_key_hex=district_public,
        district_key_id=key_id, district_base_url=district_url, host=host, port=port,
        routes={EXCHANGE_PATH: receiver.handle},
    ).start()


def issue_demo_tasks(standin: CityStandin, *, count: int = 3, rng: random.Random | None = None
                     ) -> list[tuple[int, dict[str, Any]]]:
    """POST `count` plausible city tasks (signed); returns each (status, body)."""
    rng = rng or random.Random()
    out = []
    for _ in range(count):
        kind, title = rng.choice(_DEMO_TASKS)
        lon, lat = rng.choice(_DEMO_POINTS)
        deadline = datetime.now(UTC) + timedelta(hours=rng.choice([6, 12, 24, 48]))
        out.append(standin.issue_task({
            "city_task_id": f"SH-{datetime.now():%Y%m%d}-{uuid.uuid4().hex[:8]}", "title": title, "type": kind,
            "priority": rng.choice([1, 2, 2, 3]), "deadline": deadline.isoformat(),
            "location": point(lon, lat, ndigits=None),
            "description": f"市级平台派单（演示）：{title}",
        }))
    return out


@click.command("city-standin")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8060, show_default=True, type=int)
@click.option("--district-url", default="http://127.0.0.1:8050", show_default=True,
              help="Base URL of the district platform's API.")
@click.option("--key-file", type=click.Path(path_type=Path), default=DEFAULT_KEY_FILE, show_default=True,
              help="The city's SM2 private key (hex), as written by `onemap seed --demo`.")
@click.option("--key-id", default=CITY_KEY_ID, show_default=True)
@click.option("--issue", default=0, show_default=True, type=int, help="Issue this many demo tasks at start.")
@pass_ctx
def city_standin(ctx: CliContext, host: str, port: int, district_url: str, key_file: Path, key_id: str,
                 issue: int) -> None:
    """Run the stand-in city platform: receive and verify callbacks, issue signed tasks."""
    if not key_file.exists():
        raise click.ClickException(f"{key_file} not found; run `onemap seed --demo` or pass --key-file")
    standin = start_city_standin(ctx.settings, city_private_key_hex=read_utf8(key_file).strip(),
                                 district_url=district_url, city_key_id=key_id, host=host, port=port)
    click.echo(f"city stand-in on {standin.url}; set CITY_CALLBACK_URL={standin.callback_url} "
               f"CITY_EXCHANGE_URL={standin.url}{EXCHANGE_PATH}")
    for status, body in issue_demo_tasks(standin, count=issue):
        click.echo(f"issued: {status} {body.get('task', {}).get('id', body)}")
    standin.serve_forever()
