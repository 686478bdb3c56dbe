"""The audit chain: edits, deletions, forged rows and rewrites are found; appends never fork; purge re-anchors."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from accounts import audit
from accounts.principal import Principal
from cli.context import CliContext
from cli.main import cli
from security.sm2 import generate_keypair
from store.audit import AuditCheckpoint, AuditLog, AuditPending
from tests.conftest import make_test_settings

SIGNER = audit.AuditSigner(generate_keypair()[0])
KEYS = {SIGNER.key_id: SIGNER.public_hex}
ACTOR = Principal(user_id=1, username="审计测试", role="district_analyst", org_id=1, region_code="310105")


def _append(db, n: int, tag: str = "t") -> list[int]:  # type: ignore[no-untyped-def]
    for i in range(n):
        audit.record(db, actor=ACTOR, action="signal.verify", object_type="signal", object_id=f"{tag}{i}",
                     district_code="310105", detail={"i": i, "说明": "核实", "when": datetime(2026, 1, 1)}, ip="10.0.0.1")
    return list(db.scalars(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(n)))[::-1]


def _verify(db, full: bool = False) -> audit.VerifyReport:  # type: ignore[no-untyped-def]
    return audit.verify_chain(db, public_keys=KEYS, full=full)


def test_clean_chain_verifies_and_checkpoints(db) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    audit.record(db, actor=None, action="setting.change", detail={"big": 1e20, "small": 1.5e-7, "x": 0.1 + 0.2,
                                                                  "d": Decimal("2.50"), "nested": [{"k": None}]})
    db.expire_all()  # verify what the database holds, not the objects in memory
    ids = _append(db, 6)
    cp = audit.checkpoint(db, SIGNER)
    assert cp is not None and cp.last_audit_id == ids[-1]
    assert audit.checkpoint(db, SIGNER) is None  # nothing new
    _append(db, 2)
    report = _verify(db, full=True)
    assert report.ok, report.reason
    assert report.unsigned_tail == 2 and report.checkpoints >= 1


@pytest.mark.parametrize("column, value", [("detail", "'{\"i\": 999}'::jsonb"), ("actor_name", "'someone else'"),
                                           ("time", "time - interval '1 second'"), ("action", "'login.ok'")])
def test_editing_any_column_is_detected(db, column: str, value: str) -> None:  # type: ignore[no-untyped-def]
    ids = _append(db, 5)
    audit.checkpoint(db, SIGNER)
    db.execute(text(f"UPDATE audit_log SET {column} = {value} WHERE id = :id"), {"id": ids[2]})
    report = _verify(db)
    assert report.first_broken_id == ids[2] and "edited" in (report.reason or "")


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_deleting_any_single_row_is_detected(db, position: str) -> None:  # type: ignore[no-untyped-def]
    _append(db, 5)
    audit.checkpoint(db, SIGNER)
    all_ids = list(db.scalars(select(AuditLog.id).order_by(AuditLog.id)))
    victim = {"first": all_ids[0], "middle": all_ids[len(all_ids) // 2], "last": all_ids[-1]}[position]
    # the checkpoint's foreign key protects the signed row; an attacker with superuser rights bypasses it
    db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": victim})
    db.execute(text("SET LOCAL session_replication_role = origin"))
    report = _verify(db)
    assert not report.ok
    assert report.first_broken_id == (victim if position == "last" else all_ids[all_ids.index(victim) + 1])


def test_forged_row_is_detected(db) -> None:  # type: ignore[no-untyped-def]
    """A row slipped in between (its own hash correct) breaks the link of the row after it."""
    ids = _append(db, 3, "f")
    db.execute(text("UPDATE audit_log SET id = id + 1000000 WHERE id = :id"), {"id": ids[2]})  # make a gap
    forged = AuditLog(id=ids[2], time=datetime.now(UTC), actor_user_id=99, actor_name="伪造", action="pii.view",
                      detail={}, prev_hash=db.get(AuditLog, ids[1]).row_hash)
    forged.row_hash = audit.row_hash(forged.prev_hash, forged)
    db.add(forged)
    db.flush()
    report = _verify(db)
    assert report.first_broken_id == ids[2] + 1000000 and "prev_hash" in (report.reason or "")


def test_rewriting_the_chain_after_an_edit_is_caught_by_the_signed_checkpoint(db) -> None:  # type: ignore[no-untyped-def]
    ids = _append(db, 6, "r")
    audit.checkpoint(db, SIGNER)
    # the attacker edits a row and recomputes every later hash, so every link is consistent again
    rows = list(db.scalars(select(AuditLog).where(AuditLog.id >= ids[1]).order_by(AuditLog.id)))
    rows[0].detail = {"i": "forged"}
    prev = db.get(AuditLog, ids[0]).row_hash
    for row in rows:
        row.prev_hash, row.row_hash = prev, audit.row_hash(prev, row)
        prev = row.row_hash
    db.flush()
    report = _verify(db)
    assert report.first_broken_id == ids[-1] and "rewritten" in (report.reason or "")


def test_a_checkpoint_signed_by_another_key_is_refused(db) -> None:  # type: ignore[no-untyped-def]
    _append(db, 2, "k")
    rogue = audit.AuditSigner(generate_keypair()[0])
    audit.checkpoint(db, rogue)
    db.execute(text("UPDATE audit_checkpoint SET key_id = :k WHERE key_id = :r"), {"k": SIGNER.key_id, "r": rogue.key_id})
    assert not _verify(db).ok


def test_concurrent_appends_never_fork(services) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with services.session_factory() as s:
                    audit.record(s, actor=ACTOR, action="task.feedback", object_id=f"c{n}-{i}", detail={"n": n})
                    s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with services.session_factory() as s:
        dupes = s.scalar(select(func.count()).select_from(
            select(AuditLog.prev_hash).group_by(AuditLog.prev_hash).having(func.count() > 1).subquery()))
        assert dupes == 0  # no two rows share a parent: the chain is linear
        assert audit.verify_chain(s, public_keys=KEYS).ok


def test_purge_keeps_180_days_and_reanchors(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        audit.purge(db, SIGNER, older_than_days=30)
    _append(db, 4, "p")
    audit.checkpoint(db, SIGNER)
    assert audit.purge(db, SIGNER) == 0  # nothing is 180 days old
    later = datetime.now(UTC) + timedelta(days=181)
    deleted = audit.purge(db, SIGNER, now=later)
    assert deleted > 0
    remaining = list(db.scalars(select(AuditLog).order_by(AuditLog.id)))
    assert [r.action for r in remaining] == ["audit.purge"]
    assert db.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
    _append(db, 2, "after")
    assert _verify(db, full=True).ok
    # removing the anchor's row (the first kept one) is still detected
    db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text("DELETE FROM audit_checkpoint"))
    assert _verify(db).first_broken_id == remaining[0].id


def test_cli_audit_verify_reports_the_first_broken_row(settings, services) -> None:  # type: ignore[no-untyped-def]
    ctx = CliContext(settings=make_test_settings("x", database_url=settings.database_url,
                                                 redis_namespace=settings.redis_namespace,
                                                 audit_signing_key=SIGNER.private_hex))
    with services.session_factory() as s:
        _append(s, 3, "cli")
        s.commit()
        victim = s.scalar(select(func.max(AuditLog.id))) - 1
        original = s.get(AuditLog, victim).object_id
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"], obj=ctx)
    assert ok.exit_code == 0 and ok.output.startswith("ok:"), ok.output
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET object_id = 'changed' WHERE id = :id"), {"id": victim})
    try:
        bad = runner.invoke(cli, ["audit", "verify"], obj=ctx)
        assert bad.exit_code == 1 and f"BROKEN at audit row {victim}" in bad.output
    finally:
        with services.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET object_id = :o WHERE id = :id"), {"o": original, "id": victim})
    assert runner.invoke(cli, ["audit", "verify"], obj=ctx).exit_code == 0


def test_record_many_writes_the_rows_links_and_checkpoints_of_one_record_each(db) -> None:  # type: ignore[no-untyped-def]
    """A batch (the warning run's signal rows) continues the chain as record() one by one would: same rows in
    order, valid links and hashes, a signed head checkpoint every CHECKPOINT_EVERY rows."""
    previous = audit._signer
    audit.set_checkpoint_signer(SIGNER)
    try:
        _append(db, 3, "before")
        last_cp = db.scalar(select(func.max(AuditCheckpoint.last_audit_id))) or 0
        n = audit.CHECKPOINT_EVERY + 20
        audit.record_many(db, [audit.AuditEntry(None, "signal.created", object_type="signal", object_id=str(i),
                                                district_code="310105123", detail={"i": i, "as_of": "2026-11-30"})
                               for i in range(n)])
        rows = list(db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(n)))[::-1]
        assert [r.object_id for r in rows] == [str(i) for i in range(n)]
        assert all(r.district_code == "310105" and r.actor_user_id is None for r in rows)
        cps = list(db.scalars(select(AuditCheckpoint.last_audit_id).where(AuditCheckpoint.last_audit_id > last_cp)))
        assert cps and all(b - a >= audit.CHECKPOINT_EVERY for a, b in zip([last_cp, *cps], cps, strict=False))
        _append(db, 2, "after")  # record() links to the batch's last row
        audit.record_many(db, [])
        db.expire_all()
        report = _verify(db, full=True)
        assert report.ok, report.reason
    finally:
        audit.set_checkpoint_signer(previous)


def test_pending_actions_are_counted_then_chained_in_order_by_the_checkpoint(db) -> None:  # type: ignore[no-untyped-def]
    audit.checkpoint(db, SIGNER)
    entries = [audit.AuditEntry(ACTOR, "intake.identity", "case_report", None, "310105", {"via": "intake", "n": i})
               for i in range(3)]
    audit.record_pending(db, entries)
    pending = _verify(db)
    oldest = db.scalar(select(func.min(AuditPending.time)))
    assert pending.ok and pending.unchained == 3 and pending.unsigned_tail == 0 and pending.unsigned_since == oldest
    cp = audit.checkpoint(db, SIGNER)  # the timer chains what is pending before it signs
    chained = list(db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(3)))[::-1]
    assert [r.detail["n"] for r in chained] == [0, 1, 2] and chained[0].time == oldest
    assert cp is not None and cp.last_audit_id == chained[-1].id
    db.expire_all()
    report = _verify(db, full=True)
    assert report.ok and report.unchained == 0 and report.unsigned_tail == 0 and report.unsigned_since is None
