"""The duty officer's list: `sort=grade` puts 红 → 橙 → 黄 → 蓝 first, then the latest; `sort=time` is latest first."""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.tokens import principal_for_user
from alerting import service
from alerting.schemas import SignalQuery
from store.accounts import AppUser
from store.places import Region
from store.signals import Signal
from tests.factories.users import make_user

T0 = datetime(2030, 3, 1, 2, 0, tzinfo=UTC)
# (grade, hours after T0): the newest is blue, the oldest red
ROWS = [("red", 0), ("yellow", 1), (None, 2), ("orange", 3), ("blue", 4)]


@pytest.fixture(scope="module")
def desk(services: Any) -> tuple[Any, str]:
    rnd = random.Random(uuid.uuid4().int)
    with services.session_factory() as db, db.begin():
        while True:
            district = f"3{rnd.randrange(20000, 99999)}"
            if db.get(Region, district) is None:
                break
        db.add(Region(code=district, name="排序测试区", level="district", district_code=district,
                      geom="SRID=4326;MULTIPOLYGON(((121 31,121.02 31,121.02 31.02,121 31.02,121 31)))"))
        db.flush()
        for i, (grade, hours) in enumerate(ROWS):
            at = T0 + timedelta(hours=hours)
            db.add(Signal(dedup_key=f"sort-{district}-{i}", origin="model", model="event", kind="event",
                          grade=grade, district_code=district, title=f"排序{i}", state="new",
                          first_fired_at=at, last_fired_at=at))
    user, _ = make_user(services, "district_analyst", district)
    with services.session_factory() as db:
        return principal_for_user(db, db.get(AppUser, user.id)), district


def _grades(services: Any, principal: Any, sort: str) -> list[str | None]:
    with services.session_factory() as db:
        _, rows = service.list_signals(db, actor=principal, query=SignalQuery(sort=sort))
        return [r.grade for r in rows]


def test_grade_sort_puts_the_most_severe_first(services: Any, desk: tuple[Any, str]) -> None:
    assert _grades(services, desk[0], "grade") == ["red", "orange", "yellow", "blue", None]


def test_time_sort_stays_latest_first(services: Any, desk: tuple[Any, str]) -> None:
    assert _grades(services, desk[0], "time") == ["blue", "orange", None, "yellow", "red"]


def test_unknown_sort_is_refused_naming_the_field(client: Any, services: Any, desk: tuple[Any, str]) -> None:
    _, district = desk
    _, token = make_user(services, "district_analyst", district)
    r = client.get("/api/v1/signals?sort=severity", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json["error"]["field"] == "sort"
