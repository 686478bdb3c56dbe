"""A database of its own (the exchange ledger is global to a deployment), the intake world, and the city."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from config.runtime import Services
from dispatch.outbox import district_key_id
from dispatch.standin import CityStandin
from exchange.sender import ExchangeTarget
from exchange.standin import EXCHANGE_PATH, ExchangeReceiver
from security.sm2 import generate_keypair
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.factories import intake as intake_factory


@dataclass
class City:
    standin: CityStandin
    receiver: ExchangeReceiver
    target: ExchangeTarget


@pytest.fixture(scope="package")
def world(intake_world: intake_factory.World) -> intake_factory.World:
    return intake_world


@pytest.fixture
def city(world: intake_factory.World) -> Iterator[City]:
    """The stand-in city platform over real HTTP with the exchange receiver mounted, and the district's target."""
    city_private, city_public = generate_keypair()
    district_private, district_public = generate_keypair()
    key_id = district_key_id(world.district_a)
    receiver = ExchangeReceiver(city_private_key_hex=city_private, district_keys={key_id: district_public})
    standin = CityStandin(city_private_key_hex=city_private, district_public_key_hex=district_public,
                          district_key_id=key_id, routes={EXCHANGE_PATH: receiver.handle}).start()
    target = ExchangeTarget(url=standin.url + EXCHANGE_PATH, private_key_hex=district_private, key_id=key_id,
                            city_public_key_hex=city_public, timeout=10)
    yield City(standin, receiver, target)
    standin.stop()


@pytest.fixture(autouse=True)
def _empty_ledger(services: Services) -> None:
    """Each test starts with nothing waiting (earlier tests' rows would go to this test's city) and an empty
    downward ledger (the KPI tests count it by hand)."""
    from sqlalchemy import text

    with services.session_factory() as s, s.begin():
        s.execute(text("DELETE FROM exchange_outbox"))
        s.execute(text("DELETE FROM exchange_inbound"))


@pytest.fixture(scope="package", autouse=True)
def _city_region(services: Services) -> None:
    """The city (310000) is held: districts the city sends down hang below it (tests/exchange/test_downward.py)."""
    from sqlalchemy import text

    with services.session_factory() as s, s.begin():
        s.execute(text("""INSERT INTO region (code, name, level, geom, geometry_is_demo, updated_at)
                          VALUES ('310000', '上海市', 'city',
                                  ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((120.8 30.6,122.2 30.6,122.2 31.9,
                                                   120.8 31.9,120.8 30.6)))'), true, now())
                          ON CONFLICT (code) DO NOTHING"""))
