"""The shared answer cache: one computation per data version, never an answer older than an announced change."""
from __future__ import annotations

import threading
import time
from typing import Any

import redis as redis_lib

from accounts.principal import Principal
from dashboard.answer_cache import AnswerCache
from ingest.events import ChangeEvent, announce_bulk_change, publish_change
from tests.factories.monitor import D1

CITY = Principal(1, "c", "city_admin", 1, "310000")
DISTRICT = Principal(2, "d", "district_analyst", 2, D1)


class Counter:
    def __init__(self, value: Any = None, delay: float = 0.0) -> None:
        self.calls, self.value, self.delay = 0, value, delay
        self.lock = threading.Lock()

    def __call__(self) -> Any:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        return self.value if self.value is not None else {"calls": self.calls}


def _cache(services: Any, suffix: str) -> AnswerCache:
    return AnswerCache(services.redis, f"{services.settings.redis_namespace}:{suffix}")


def test_second_ask_is_a_hit_until_a_change_is_published(services):
    cache = _cache(services, "t1")
    compute = Counter()
    first = cache.answer("q", CITY, compute)
    second = cache.answer("q", CITY, compute)
    assert (first.cached, second.cached, compute.calls) == (False, True, 1)
    assert second.body == first.body and second.etag == first.etag
    publish_change(services.redis, cache.namespace, ChangeEvent(kind="case", id=1, district_code=D1))
    third = cache.answer("q", CITY, compute)
    assert (third.cached, compute.calls) == (False, 2) and third.etag != first.etag
    announce_bulk_change(services.redis, cache.namespace)
    assert cache.answer("q", CITY, compute).cached is False and compute.calls == 3


def test_answers_are_kept_apart_by_scope_and_question(services):
    cache = _cache(services, "t2")
    city, district = Counter({"who": "city"}), Counter({"who": "district"})
    assert cache.answer("q", CITY, city).body == b'{"who":"city"}'
    assert cache.answer("q", DISTRICT, district).body == b'{"who":"district"}'
    assert cache.answer("other", CITY, Counter({"x": 1})).body == b'{"x":1}'
    unmasking = Principal(2, "d", "district_analyst", 2, D1, may_view_pii=True)
    assert cache.answer("q", unmasking, Counter({"who": "pii"})).body == b'{"who":"pii"}'


def test_many_screens_asking_at_once_cause_one_computation(services):
    cache = _cache(services, "t3")
    compute = Counter({"v": 1}, delay=0.3)
    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda: bodies.append(cache.answer("q", CITY, compute).body))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert compute.calls == 1 and bodies == [b'{"v":1}'] * 20


def test_redis_down_still_answers(services):
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = AnswerCache(dead, "t4")
    compute = Counter({"v": 2})
    assert cache.answer("q", CITY, compute).body == b'{"v":2}'
    assert cache.answer("q", CITY, compute).cached is False and compute.calls == 2


def test_layer_api_revalidates_with_etag_and_sees_announced_changes(client, world, services):
    headers = {"Authorization": f"Bearer {world.tokens['d1']}"}
    first = client.get("/api/v1/layers/cases", headers=headers)
    again = client.get("/api/v1/layers/cases", headers=headers)
    assert again.headers["X-Answer-Cache"] == "hit" and again.data == first.data
    etag = again.headers["ETag"].strip('"')
    not_modified = client.get("/api/v1/layers/cases", headers={**headers, "If-None-Match": f'"{etag}"'})
    assert not_modified.status_code == 304 and not not_modified.data
    publish_change(services.redis, services.settings.redis_namespace, ChangeEvent(kind="case", id=0, district_code=D1))
    after = client.get("/api/v1/layers/cases", headers={**headers, "If-None-Match": f'"{etag}"'})
    assert after.status_code == 200 and after.headers["X-Answer-Cache"] == "miss"


def test_a_zero_ttl_turns_the_cache_off(services):
    cache = AnswerCache(services.redis, f"{services.settings.redis_namespace}:t5", ttl_seconds=0)
    compute = Counter()
    assert cache.answer("q", CITY, compute).cached is False
    assert cache.answer("q", CITY, compute).cached is False and compute.calls == 2


def test_at_most_compute_slots_answers_are_computed_at_once(services):
    cache = AnswerCache(services.redis, f"{services.settings.redis_namespace}:slots", compute_slots=2)
    busy, peak, guard = [0], [0], threading.Lock()

    def compute() -> dict[str, int]:
        with guard:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        time.sleep(0.05)
        with guard:
            busy[0] -= 1
        return {"ok": 1}

    threads = [threading.Thread(target=cache.answer, args=(f"q{i}", CITY, compute)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
