"""Concurrent reads of the case layer: one audit row each (group commit), on an unbroken chain, before the answer."""
from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import text

from accounts import audit
from tests.factories.monitor import D1
from tests.factories.users import make_user

SINCE = date(2026, 1, 1)


def test_concurrent_case_reads_are_each_audited(app, services, world) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user(services, "district_analyst", D1)
    untils = [(SINCE + timedelta(days=i)).isoformat() for i in range(12)]
    statuses: dict[str, int] = {}
    rows_seen: dict[str, int] = {}

    def read(until: str) -> None:
        resp = app.test_client().get(f"/api/v1/layers/cases?since={SINCE}&until={until}",
                                     headers={"Authorization": f"Bearer {token}"})
        statuses[until] = resp.status_code
        with services.engine.connect() as conn:  # the row is committed when the answer arrives
            rows_seen[until] = conn.execute(text(
                "SELECT count(*) FROM audit_log WHERE actor_user_id = :u AND action = 'case.read' "
                "AND detail->'filters'->>'until' = :until"), {"u": user.id, "until": until}).scalar_one()

    threads = [threading.Thread(target=read, args=(u,)) for u in untils]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == {u: 200 for u in untils}
    assert rows_seen == {u: 1 for u in untils}
    with services.session_factory() as db:
        assert audit.verify_chain(db, public_keys={}).first_broken_id is None
