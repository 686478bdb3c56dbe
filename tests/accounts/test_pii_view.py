"""Personal data: encrypted at rest (pg_dump shows none of it), masked on screen, clear only when allowed and audited."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from accounts.pii_view import Identity, PiiAccessDenied, id_number_matches, present_identity
from accounts.scope import ScopeError
from accounts.tokens import principal_for_user
from store.audit import AuditLog
from store.cases import CaseReport
from tests.factories.scope import World


def _principal(db, world: World, key: str):  # type: ignore[no-untyped-def]
    return principal_for_user(db, db.merge(world.users[key][0]))


def test_masked_by_default_clear_only_with_permission_and_audited(db, services, world: World) -> None:  # type: ignore[no-untyped-def]
    case = db.get(CaseReport, world.a.ids["case"][0])
    ident = world.a.identities[0]
    commander = _principal(db, world, "district_commander@A")  # role may, but this user has no PII permission
    masked = present_identity(db, case=case, cipher=services.cipher, principal=commander)
    assert masked["masked"] and masked["name"] == ident.name[0] + "*" * (len(ident.name) - 2) + ident.name[-1]
    assert masked["id_number"] == ident.id_number[:6] + "********" + ident.id_number[-4:]
    assert ident.phone not in str(masked) and ident.address not in str(masked)
    with pytest.raises(PiiAccessDenied):
        present_identity(db, case=case, cipher=services.cipher, principal=commander, clear=True)
    analyst = _principal(db, world, "district_analyst@A")
    clear = present_identity(db, case=case, cipher=services.cipher, principal=analyst, clear=True,
                             purpose="流调", ip="10.1.1.1")
    assert clear["name"] == ident.name and clear["id_number"] == ident.id_number and not clear["masked"]
    row = db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).one()
    assert (row.action, row.object_id, row.actor_user_id, row.detail["purpose"]) == \
        ("pii.view", str(case.id), analyst.user_id, "流调")
    assert ident.name not in str(row.detail)


def test_out_of_scope_identity_is_refused(db, services, world: World) -> None:  # type: ignore[no-untyped-def]
    case_a = db.get(CaseReport, world.a.ids["case"][0])
    case_a_inst2 = db.get(CaseReport, world.a.ids["case"][1])
    for key, case in (("district_analyst@B", case_a), ("institution_user@A", case_a_inst2)):
        with pytest.raises(ScopeError):
            present_identity(db, case=case, cipher=services.cipher, principal=_principal(db, world, key))
    own = present_identity(db, case=case_a, cipher=services.cipher, principal=_principal(db, world, "institution_user@A"))
    assert own["masked"]


def test_blind_index_finds_by_id_number_without_decrypting(db, services, world: World) -> None:  # type: ignore[no-untyped-def]
    ident = world.a.identities[2]
    found = db.scalars(select(CaseReport.id).where(id_number_matches(services.cipher, ident.id_number.lower()))).all()
    assert found == [world.a.ids["case"][2]]


def test_identity_validation() -> None:
    with pytest.raises(ValueError):
        Identity(id_number="31010519900101<script>")
    with pytest.raises(ValueError):
        Identity(name="张三", passport="E123")  # type: ignore[call-arg]
    assert Identity(id_number="31010519900101123x").id_number == "31010519900101123X"


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump not installed")
def test_pg_dump_contains_no_identity_in_clear(settings, world: World) -> None:  # type: ignore[no-untyped-def]
    url = make_url(settings.database_url)
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                           url.username or "postgres", "--data-only", url.database or ""],
                          capture_output=True, check=True, text=True).stdout
    assert world.a.marker in dump  # the dump does hold our records …
    for ident in world.a.identities + world.b.identities:  # … but none of the identities
        for value in (ident.name, ident.id_number, ident.phone, ident.address):
            assert value not in dump, f"{value!r} found in clear in pg_dump"
