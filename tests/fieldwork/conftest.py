"""A database of its own: warning events of Changning (310105), the city's signed client, staff of three kinds."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.request_signing import sign_request
from accounts.users import create_user
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from store.signals import Signal, SignalEvent
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.factories.users import ensure_test_org, make_user

CITY_KEY_ID = "city-platform"
CITY_PRIVATE, CITY_PUBLIC = generate_keypair()


@dataclass
class World:
    services: Any
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def signed(self, path: str, body: Any) -> tuple[bytes, dict[str, str]]:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = sign_request(private_key_hex=CITY_PRIVATE, key_id=CITY_KEY_ID, method="POST", path=path, body=raw)
        return raw, {**headers, "Content-Type": "application/json"}

    def event(self, *, state: str = "responding", raised: datetime, verified: datetime | None = None,
              cases: list[dict[str, Any]] | None = None) -> int:
        """A warning event raised at `raised`, moved to 'suspected' at `verified`, with evidence cases."""
        with self.services.session_factory() as s, s.begin():
            sig = Signal(dedup_key=f"t-{uuid.uuid4().hex}", origin="model", model="fusion", kind="event",
                         district_code="310105", state=state, title="测试聚集", first_fired_at=raised,
                         last_fired_at=raised, evidence={"cases": cases or []}, params={})
            s.add(sig)
            s.flush()
            if verified is not None:
                s.add(SignalEvent(signal_id=sig.id, time=verified, action="transition", from_state="verifying",
                                  to_state="suspected", data={}))
            return sig.id


@pytest.fixture(scope="package")
def world(services: Any) -> World:
    w = World(services)
    with services.session_factory() as db, db.begin():
        org = ensure_test_org(db, role="city_api", region_code="310000", institution_id=None)
        user = create_user(db, username=f"cityapi_{uuid.uuid4().hex[:6]}", display_name="市级平台", org=org,
                           role="city_api", password=None)
        db.add(ApiClient(key_id=CITY_KEY_ID, name="市级平台", user_id=user.id, sm2_public_key=CITY_PUBLIC))
    for name, role, pii in [("commander", "district_commander", True), ("analyst", "district_analyst", False),
                            ("institution", "district_analyst", False)]:
        user, token = make_user(services, role, "310105", may_view_pii=pii)
        w.tokens[name], w.user_ids[name] = token, user.id
    user, token = make_user(services, "district_commander", "310104", may_view_pii=True)
    w.tokens["xuhui"] = token
    return w


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
