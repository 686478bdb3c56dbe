"""Two real district instances (Changning 310105 and Xuhui 310104: two databases, two apps over HTTP, two SM2
keys) and the stand-in city relaying 协查 between them."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text

from accounts.users import create_user
from assist.sender import AssistTarget, send_due
from assist.standin import AssistRelay, DistrictEndpoint
from config import Settings
from config.runtime import Services, build_services
from dispatch.outbox import district_key_id, http_post
from dispatch.standin import CityStandin
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.databases import create_database, drop_database, make_test_settings, migrate
from tests.factories.users import ensure_test_org, make_user

CITY_KEY_ID = "city-platform"
CITY_PRIVATE, CITY_PUBLIC = generate_keypair()
CHANGNING_PRIVATE, CHANGNING_PUBLIC = generate_keypair()


@pytest.fixture(scope="package")
def settings() -> Iterator[Settings]:
    """Changning's database and settings (its own SM2 key, the city's key id)."""
    name = f"onemap_test_{uuid.uuid4().hex[:10]}"
    create_database(name)
    s = make_test_settings(name, district_code="310105", district_signing_key=CHANGNING_PRIVATE,
                           city_key_id=CITY_KEY_ID)
    migrate(s)
    yield s
    drop_database(name)


@dataclass
class District:
    code: str
    services: Services
    url: str
    private_key: str
    public_key: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def send(self, city_url: str, post: Any = http_post) -> Any:
        """Run this district's assist outbox sender once (what the scheduler does)."""
        target = AssistTarget(city_url=city_url, private_key_hex=self.private_key, key_id=district_key_id(self.code))
        return send_due(self.services.session_factory, target=target, cipher=self.services.cipher, post=post)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.services.session_factory() as s:
            return s.execute(text(sql), params).scalar()


def _register_city(services: Services) -> None:
    """The city platform's signed API client (role city_api) on a district."""
    with services.session_factory() as db, db.begin():
        org = ensure_test_org(db, role="city_api", region_code="310000", institution_id=None)
        user = create_user(db, username=f"cityapi_{uuid.uuid4().hex[:6]}", display_name="市级平台", org=org,
                           role="city_api", password=None)
        db.add(ApiClient(key_id=CITY_KEY_ID, name="市级平台", user_id=user.id, sm2_public_key=CITY_PUBLIC))


def _serve(application: Any) -> tuple[Any, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _users(d: District) -> None:
    for name, role, pii in [("commander", "district_commander", True), ("analyst", "district_analyst", False)]:
        d.tokens[name] = make_user(d.services, role, d.code, may_view_pii=pii)[1]


@pytest.fixture(scope="package")
def changning(services: Services, live_url: str) -> District:
    _register_city(services)
    d = District("310105", services, live_url, CHANGNING_PRIVATE, CHANGNING_PUBLIC)
    _users(d)
    d.tokens["xuhui_user_here"] = make_user(services, "district_commander", "310104", may_view_pii=True)[1]
    return d


@pytest.fixture(scope="package")
def xuhui() -> Iterator[District]:
    """The second district: a database, an app served over HTTP and an SM2 key of its own."""
    from dashboard import create_app

    private, public = generate_keypair()
    name = f"onemap_test_{uuid.uuid4().hex[:10]}"
    create_database(name)
    s = make_test_settings(name, district_code="310104", district_signing_key=private, city_key_id=CITY_KEY_ID)
    migrate(s)
    svc = build_services(s, pool_size=3)
    server, url = _serve(create_app(s))
    d = District("310104", svc, url, private, public)
    _register_city(svc)
    _users(d)
    yield d
    server.shutdown()
    for key in svc.redis.scan_iter(f"{s.redis_namespace}:*"):
        svc.redis.delete(key)
    svc.engine.dispose()
    drop_database(name)


@dataclass
class City:
    standin: CityStandin
    relay: AssistRelay

    @property
    def url(self) -> str:
        return self.standin.url


@pytest.fixture(scope="package")
def city(changning: District, xuhui: District) -> Iterator[City]:
    """The stand-in city with the 协查 relay: it knows both districts' URLs and public keys."""
    relay = AssistRelay(city_private_key_hex=CITY_PRIVATE, city_key_id=CITY_KEY_ID, city_public_key_hex=CITY_PUBLIC,
                        districts={d.code: DistrictEndpoint(d.url, d.public_key) for d in (changning, xuhui)})
    standin = CityStandin(city_private_key_hex=CITY_PRIVATE, district_public_key_hex=changning.public_key,
                          district_key_id=district_key_id(changning.code), routes=relay.routes()).start()
    yield City(standin, relay)
    standin.stop()
