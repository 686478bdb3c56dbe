"""The city's callback endpoint goes down (refused, then 503) while two `onemap dispatch deliver` processes run:
every callback reaches the city once, in order per task."""
from __future__ import annotations

import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from accounts.principal import CITY_CODE, Principal
from accounts.tokens import principal_for_user
from accounts.users import create_user, ensure_org
from config.runtime import build_services
from dispatch.models import FeedbackRequest, TaskCreate
from dispatch.outbox import district_key_id
from dispatch.service import accept_task, create_task, report_feedback
from dispatch.standin import CityStandin
from security.sm2 import generate_keypair
from store.dispatch import CallbackDelivery
from tests.conftest import create_database, drop_database, make_test_settings, migrate
from tests.system.chaos.conftest import scale
from tests.system.chaos.support import ONEMAP, ROOT, Ledger, service_env, stop

DISTRICT = "310105"


@pytest.fixture
def fresh_settings() -> Iterator[Any]:
    """A database of its own, so the deliver processes see only this scenario's callbacks."""
    name = f"onemap_chaos_cb_{uuid.uuid4().hex[:8]}"
    create_database(name)
    s = make_test_settings(name)
    migrate(s)
    yield s
    drop_database(name)


def _principals(services: Any, tag: str) -> tuple[Principal, Principal]:
    with services.session_factory() as db, db.begin():
        city = ensure_org(db, code=f"city-{tag}", name="市疾控", level="city", region_code=CITY_CODE)
        district = ensure_org(db, code=f"d-{tag}", name="长宁区疾控", level="district", region_code=DISTRICT,
                              parent=city)
        cmd = create_user(db, username=f"cmd_{tag}", display_name="指挥", org=district, role="district_commander",
                          password=None)
        api = create_user(db, username=f"api_{tag}", display_name="市级平台", org=city, role="city_api", password=None)
        return principal_for_user(db, api), principal_for_user(db, cmd)


def _wait_for(services: Any, condition: str, seconds: float = 90) -> None:
    """Until some delivery row meets `condition` (the deliver processes felt the outage)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with services.session_factory() as s:
            if s.scalar(text(f"SELECT count(*) FROM callback_delivery WHERE {condition}")):
                return
        time.sleep(0.2)
    raise AssertionError(f"no delivery with {condition}")


@pytest.mark.slow
def test_city_callback_endpoint_down(fresh_settings: Any, ledger: Ledger) -> None:
    district_private, district_public = generate_keypair()
    city = CityStandin(city_private_key_hex=generate_keypair()[0], district_public_key_hex=district_public,
                       district_key_id=district_key_id(DISTRICT)).start()
    city.stop()  # refused from the start; the port stays the same on restart
    svc = build_services(fresh_settings, pool_size=2)
    city_api, commander = _principals(svc, uuid.uuid4().hex[:6])
    n_tasks, updates = scale(6, 20), 3
    city_ids = []
    for _ in range(n_tasks):
        with svc.session_factory() as s, s.begin():
            task, _ = create_task(s, actor=city_api, default_district=DISTRICT, data=TaskCreate(
                city_task_id=f"SH-{uuid.uuid4().hex[:12]}", title="排查发热人员", type="screening",
                deadline=datetime.now(UTC) + timedelta(days=1)))
            accept_task(s, actor=commander, task_id=task.id)
            for i in range(updates):
                report_feedback(s, actor=commander, task_id=task.id,
                                data=FeedbackRequest(progress=20 * (i + 1), counts={"persons_screened": i + 1}))
            city_ids.append(task.city_task_id)
    with svc.session_factory() as s:
        keys = list(s.scalars(select(CallbackDelivery.idempotency_key)))
    env = service_env(fresh_settings, CITY_CALLBACK_URL=city.callback_url, DISTRICT_SIGNING_KEY=district_private,
                      DISTRICT_CODE=DISTRICT)
    workers = [subprocess.Popen([ONEMAP, "dispatch", "deliver", "--interval", "0.5"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        _wait_for(svc, "last_status_code IS NULL AND attempts > 0")  # refused: each task's head backs off
        city.start()
        city.failing = True  # reachable, answering 503
        _wait_for(svc, "last_status_code = 503")
        city.failing = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len({r.idempotency_key for r in city.callbacks}) < len(keys):
            time.sleep(0.3)
        # The city has them all; a sender marks its last one delivered only after the city's answer.
        _wait_for(svc, "true HAVING bool_and(status = 'delivered')", seconds=30)
    finally:
        for w in workers:
            stop(w)
        city.stop()
    with svc.session_factory() as s:
        rows = list(s.scalars(select(CallbackDelivery)))
    svc.engine.dispose()
    received = [r.idempotency_key for r in city.callbacks]
    in_order = all([p["sequence"] for p in city.received_for(cid)] == list(range(1, updates + 3)) for cid in city_ids)
    ledger.settle(keys, received)
    ledger.notes.update(resent_and_deduplicated_by_city=sum(r.times_received - 1 for r in city.callbacks),
                        failed_attempts=sum(r.attempts for r in rows) - len(rows), in_order=in_order,
                        rejected_by_city=len(city.rejected))
    assert len(keys) == n_tasks * (updates + 2)
    assert (ledger.lost, ledger.duplicated) == (0, 0) and max(Counter(received).values()) == 1
    assert in_order and city.rejected == [] and all(r.status == "delivered" for r in rows)
    assert ledger.notes["failed_attempts"] > 0  # the outage was felt
