"""Concurrent reads of the case layer: one audit row each (group commit), committed before the answer, chained after."""
from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import text

from accounts import audit
from tests.factories.audit import chain_pending
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
        with services.engine.connect() as conn:  # the row is committed when the answer arrives (chained or not yet)
            rows_seen[until] = conn.execute(text(
                "SELECT count(*) FROM (SELECT actor_user_id, action, detail FROM audit_log UNION ALL "
                "SELECT actor_user_id, action, detail FROM audit_pending) a WHERE actor_user_id = :u "
                "AND action = 'case.read' AND detail->'filters'->>'until' = :until"),
                {"u": user.id, "until": until}).scalar_one()

    threads = [threading.Thread(target=read, args=(u,)) for u in untils]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == {u: 200 for u in untils}
    assert rows_seen == {u: 1 for u in untils}
    assert chain_pending(services) <= len(untils)  # what the chainer had not yet linked
    with services.session_factory() as db:
        report = audit.verify_chain(db, public_keys={})
        assert report.first_broken_id is None and report.unchained == 0
        assert db.scalar(text("SELECT count(*) FROM audit_log WHERE actor_user_id = :u AND action = 'case.read'"),
                         {"u": user.id}) == len(untils)
