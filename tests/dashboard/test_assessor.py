"""Issue #14, finding 7 and the 等保三级 assessor's items: briefing script binding, required secrets,
Cache-Control, /healthz disclosure, PROXY_HOPS, audit of reads / denials / imports / stock / intake with
the client address, the unsigned audit tail, and the purpose-stated "show identity" action."""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from accounts import audit
from accounts.principal import Principal
from cli.main import cli
from config.runtime import Services, build_cipher, build_services
from config.settings import MissingSecretError
from security.sm2 import generate_keypair
from store.audit import AuditLog, AuditPending
from store.response import Stock
from tests.conftest import create_database, drop_database, make_test_settings, migrate
from tests.factories.audit import chain_pending
from tests.factories.scope import World
from tests.factories.users import login


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world

PURPOSE = "流调电话回访核实密接"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit_rows(services, action: str, after_id: int, **where: Any) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    chain_pending(services)  # reads are chained after their commit
    with services.session_factory() as db:
        query = select(AuditLog).where(AuditLog.action == action, AuditLog.id > after_id)
        for column, value in where.items():
            query = query.where(getattr(AuditLog, column) == value)
        return list(db.scalars(query.order_by(AuditLog.id)))


def _last_audit_id(services) -> int:  # type: ignore[no-untyped-def]
    chain_pending(services)  # earlier reads are chained before the mark
    with services.session_factory() as db:
        return int(db.scalar(select(func.coalesce(func.max(AuditLog.id), 0))))


def _other_app(settings, **overrides: Any):  # type: ignore[no-untyped-def]
    from dashboard import create_app

    return create_app(settings.model_copy(update=overrides))  # same database, keys and namespace


# ---- /reports/briefing/map-<token>.js is bound to the session that rendered the briefing ----

@pytest.fixture(scope="module")
def district_a(services) -> str:  # type: ignore[no-untyped-def]
    """District A's outline and a street (the briefing maps the district's streets)."""
    from geo.srid import SRID
    from store.places import Region

    with services.session_factory() as db:
        if db.get(Region, "310105") is None:
            db.add(Region(code="310105", name="测试长宁区", level="district", district_code="310105", population=1000,
                          geom=func.ST_Multi(func.ST_GeomFromText(
                              "POLYGON((121.35 31.19,121.45 31.19,121.45 31.24,121.35 31.24,121.35 31.19))", SRID))))
            db.flush()
            db.add(Region(code="310105001", name="测试街道", level="street", parent_code="310105", district_code="310105",
                          population=1000, geom=func.ST_Multi(func.ST_GeomFromText(
                              "POLYGON((121.36 31.20,121.44 31.20,121.44 31.23,121.36 31.23,121.36 31.20))", SRID))))
            db.commit()
    return "310105"


def test_briefing_map_script_is_bound_to_its_session(app, services, world: World, district_a) -> None:  # type: ignore[no-untyped-def]
    owner, other = app.test_client(), app.test_client()
    user = world.users["district_analyst@A"][0]
    login(owner, user)
    page = owner.get("/reports/briefing?date=2026-03-02")
    assert page.status_code == 200, page.data[:300]
    script_url = re.search(rb'/reports/briefing/map-[A-Za-z0-9_\-]+\.js', page.data).group().decode()
    login(other, world.users["district_commander@A"][0])
    assert other.get(script_url).status_code == 404  # another user of the same district
    second_session = app.test_client()
    login(second_session, user)
    assert second_session.get(script_url).status_code == 404  # the same user, another browser session
    _, token = world.users["district_analyst@A"]
    assert app.test_client().get(script_url, headers=_bearer(token)).status_code == 404  # the same user's token
    mine = owner.get(script_url)
    assert mine.status_code == 200 and mine.mimetype == "text/javascript"
    assert mine.headers["Cache-Control"] == "no-store"


# ---- SECRET_KEY / BLIND_INDEX_KEY: refuse to start instead of a fixed or all-zero key ----

def test_app_refuses_to_start_without_secret_key(settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    for bad in ("", "short"):
        s = make_test_settings("x", database_url=settings.database_url, secret_key=bad, testing=False)
        with pytest.raises(MissingSecretError, match="SECRET_KEY"):
            create_app(s)


def test_pii_cipher_refuses_a_missing_blind_index_key(settings) -> None:  # type: ignore[no-untyped-def]
    for bad in ("", "not-hex", "00ff"):
        s = make_test_settings("x", database_url=settings.database_url, blind_index_key=bad, testing=False)
        with pytest.raises(MissingSecretError, match="BLIND_INDEX_KEY"):
            build_cipher(s)
    good = make_test_settings("x", database_url=settings.database_url, testing=False)
    assert build_cipher(good) is not None


def test_cli_names_the_missing_variable(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PII_KEYS", f"k1:{'ab' * 16}")
    monkeypatch.delenv("BLIND_INDEX_KEY", raising=False)
    monkeypatch.delenv("BLIND_INDEX_KEY_FILE", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    monkeypatch.setenv("TESTING", "false")
    runner = CliRunner()
    listed = runner.invoke(cli, ["token", "list", "--user", "nobody"])
    assert listed.exit_code == 1 and "BLIND_INDEX_KEY" in listed.output and "Traceback" not in listed.output
    served = runner.invoke(cli, ["serve", "--dev"])
    assert served.exit_code == 1 and "SECRET_KEY" in served.output


def test_provisioned_secrets_satisfy_the_checks(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    """scripts/provision.sh writes var/secrets.env with `python -m cli.keys`: those values must start the app."""
    from cli import keys
    from config.settings import check_secrets

    keys.main()
    values = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    s = make_test_settings("x", database_url=settings.database_url, testing=False,
                           **{k.lower(): v for k, v in values.items()})
    check_secrets(s)
    assert build_cipher(s) is not None


# ---- Cache-Control: no-store on pages, Dash answers and API JSON; static files stay cacheable ----

def test_pages_dash_and_api_are_not_stored(app, world: World, district_a) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, world.users["district_analyst@A"][0])
    paths = ["/monitor", "/command", "/signals", "/tasks", "/reports/briefing?date=2026-03-02", "/profile",
             "/_dash-layout", "/_dash-dependencies", "/api/v1/layers", "/api/v1/layers/cases", "/healthz"]
    for path in paths:
        resp = client.get(path)
        assert resp.status_code < 400, (path, resp.status_code)
        assert resp.headers.get("Cache-Control") == "no-store", path
    asset = client.get("/reports/vendor/leaflet.js")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("Cache-Control", "")


# ---- /healthz: anonymous callers learn ok / down only ----

def test_healthz_hides_versions_from_anonymous_callers(app, world: World) -> None:  # type: ignore[no-untyped-def]
    anonymous = app.test_client().get("/healthz")
    assert anonymous.status_code == 200
    assert anonymous.get_json()["checks"] == {"postgis": "ok", "redis": "ok"}
    assert b"PostGIS" not in anonymous.data
    _, token = world.users["district_analyst@A"]
    staff = app.test_client().get("/healthz", headers=_bearer(token)).get_json()
    assert staff["checks"]["postgis"].startswith("ok (PostGIS")


def test_healthz_down_names_component_without_the_error(settings) -> None:  # type: ignore[no-untyped-def]
    dead = {"redis_url": "redis://127.0.0.1:1/0", "redis_sentinels": "127.0.0.1:1" if settings.redis_sentinels else ""}
    resp = _other_app(settings, **dead).test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["checks"]["redis"] == "down" and resp.get_json()["down"] == ["redis"]


# ---- PROXY_HOPS: X-Forwarded-For only from configured proxy hops ----

def _identity(client, case_id: int, token: str, purpose: str = PURPOSE, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case_id}/identity", json={"purpose": purpose},
                       headers={**_bearer(token), **headers})


def test_audit_address_honours_forwarded_for_only_behind_configured_proxies(settings, services, app,
                                                                           world: World) -> None:  # type: ignore[no-untyped-def]
    _, token = world.users["district_analyst@A"]
    case_id = world.a.ids["case"][0]
    before = _last_audit_id(services)
    proxied = _other_app(settings, proxy_hops=1).test_client()
    assert _identity(proxied, case_id, token, **{"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    assert _identity(app.test_client(), case_id, token, **{"X-Forwarded-For": "198.51.100.9"}).status_code == 200
    rows = _audit_rows(services, "pii.view", before)
    assert [r.ip for r in rows] == ["203.0.113.7", "127.0.0.1"]  # direct: the forged header is ignored


def test_rate_limit_key_uses_the_forwarded_client_only_behind_proxies(settings) -> None:  # type: ignore[no-untyped-def]
    def statuses(app, addresses: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
        app.config["ONEMAP_INGEST_RATE_LIMIT"] = "2/minute"
        client = app.test_client()
        return [client.post("/api/v1/ingest/case_report", json={"records": []},
                            headers={"X-Forwarded-For": a}).status_code for a in addresses]

    tag = datetime.now(UTC).strftime("%H%M%S%f")
    proxied = _other_app(settings, proxy_hops=1, redis_namespace=f"test-proxy-{tag}")
    assert statuses(proxied, ["192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"]) == [401, 401, 429, 401]
    direct = _other_app(settings, redis_namespace=f"test-direct-{tag}")
    assert statuses(direct, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) == [401, 401, 429]  # forged: one client


# ---- show identity (查看身份信息): purpose stated, audited, only for roles with the right ----

def test_identity_is_shown_to_the_analyst_with_purpose_and_audited(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    user, _ = world.users["district_analyst@A"]
    client = app.test_client()
    csrf = login(client, user)
    case_id, expected = world.a.ids["case"][1], world.a.identities[1]
    before = _last_audit_id(services)
    resp = client.post(f"/api/v1/cases/{case_id}/identity", json={"purpose": PURPOSE}, headers={"X-CSRFToken": csrf},
                       environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert resp.status_code == 200, resp.get_json()
    shown = resp.get_json()["identity"]
    assert shown == {"name": expected.name, "id_number": expected.id_number, "phone": expected.phone,
                     "address": expected.address}
    assert resp.headers["Cache-Control"] == "no-store"
    (row,) = _audit_rows(services, "pii.view", before)
    assert (row.actor_user_id, row.object_id, row.district_code, row.ip) == (user.id, str(case_id), "310105",
                                                                            "10.20.30.40")
    assert row.detail["purpose"] == PURPOSE


def test_identity_without_csrf_is_refused(app, world: World) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, world.users["district_analyst@A"][0])
    resp = client.post(f"/api/v1/cases/{world.a.ids['case'][0]}/identity", json={"purpose": PURPOSE})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf.invalid"


@pytest.mark.parametrize("body", [{}, {"purpose": ""}, {"purpose": "  ab  "}, {"purpose": 12345},
                                  {"purpose": "x" * 201}, ["purpose"], {"purpose": PURPOSE, "extra": 1}])
def test_identity_needs_a_stated_purpose(app, services, world: World, body: Any) -> None:  # type: ignore[no-untyped-def]
    _, token = world.users["district_analyst@A"]
    before = _last_audit_id(services)
    resp = app.test_client().post(f"/api/v1/cases/{world.a.ids['case'][0]}/identity", json=body,
                                  headers=_bearer(token))
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["field"] in ("purpose", "extra") and err["message_zh"]
    assert _audit_rows(services, "pii.view", before) == []


@pytest.mark.parametrize("role", ["district_commander@A", "wall_kiosk@A", "institution_user@A"])
def test_masked_roles_get_403_and_the_refusal_is_audited(app, services, world: World, role: str) -> None:  # type: ignore[no-untyped-def]
    user, token = world.users[role]
    case_id = world.a.ids["case"][0]  # the institution user's own institution
    before = _last_audit_id(services)
    resp = _identity(app.test_client(), case_id, token)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "pii.forbidden"
    assert world.a.identities[0].name not in resp.get_data(as_text=True)
    assert _audit_rows(services, "pii.view", before) == []
    (row,) = _audit_rows(services, "pii.denied", before)
    assert row.actor_user_id == user.id and row.object_id == str(case_id) and row.ip == "127.0.0.1"


def test_other_district_gets_404_and_the_scope_denial_is_audited(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    user, token = world.users["district_analyst@B"]
    case_id = world.a.ids["case"][0]
    before = _last_audit_id(services)
    resp = _identity(app.test_client(), case_id, token)
    assert resp.status_code == 404
    assert _identity(app.test_client(), 2_000_000_000, token).status_code == 404  # same answer as a missing case
    (row,) = _audit_rows(services, "scope.denied", before)
    assert row.actor_user_id == user.id and row.object_id == str(case_id) and row.ip == "127.0.0.1"
    assert _audit_rows(services, "pii.view", before) == []


# ---- audit of case reads (who, what, scope, when, where) ----

def test_case_layer_reads_are_audited_once_per_window(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    user, token = world.users["district_commander@A"]
    client = app.test_client()
    before = _last_audit_id(services)
    url = "/api/v1/layers/cases?since=2026-01-01&until=2026-03-01"
    for _ in range(3):
        assert client.get(url, headers=_bearer(token)).status_code == 200
    (row,) = _audit_rows(services, "case.read", before)
    assert (row.actor_user_id, row.object_type, row.object_id, row.ip) == (user.id, "layer", "cases", "127.0.0.1")
    assert row.detail["filters"] == {"since": "2026-01-01", "until": "2026-03-01"}
    assert row.detail["scope"]["district_code"] == "310105" and row.time is not None
    assert client.get("/api/v1/layers/cases?since=2026-01-02", headers=_bearer(token)).status_code == 200
    assert len(_audit_rows(services, "case.read", before)) == 2  # other filters: another read


def test_signal_evidence_read_is_audited(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    user, token = world.users["district_analyst@A"]
    signal_id = world.a.ids["signal"][0]
    before = _last_audit_id(services)
    assert app.test_client().get(f"/api/v1/monitor/signals/{signal_id}", headers=_bearer(token)).status_code == 200
    (row,) = _audit_rows(services, "case.read", before, object_type="signal_evidence")
    assert row.actor_user_id == user.id and row.object_id == str(signal_id)


# ---- audit of roster imports, stock changes and identity-bearing intake (domain level) ----

ACTOR = Principal(user_id=7, username="审计员", role="district_commander", org_id=1, region_code="310105")


def test_roster_import_is_audited_without_names(db, services) -> None:  # type: ignore[no-untyped-def]
    from command.roster import import_roster_csv

    token = audit.set_client_address("10.1.1.1")
    try:
        data = "day,duty_role,org_name,name,phone\n2026-03-01,带班领导,长宁区疾控,王值班,13800001111\n"
        assert import_roster_csv(db, data, cipher=services.cipher, district_code="310105", actor=ACTOR) == 1
    finally:
        audit.reset_client_address(token)
    row = db.scalar(select(AuditLog).where(AuditLog.action == "roster.import").order_by(AuditLog.id.desc()))
    assert row.actor_user_id == 7 and row.ip == "10.1.1.1" and row.detail["days"] == ["2026-03-01"]
    assert "王值班" not in str(row.detail) and "13800001111" not in str(row.detail)


def test_stock_change_is_audited(db, world: World) -> None:  # type: ignore[no-untyped-def]
    from command.stock import Movement, apply_movement

    site_id = world.a.ids["site"][0]
    db.add(Stock(site_id=site_id, item_code="AUD-N95", item_name="N95口罩", category="防护", unit="个", quantity=10))
    db.flush()
    apply_movement(db, Movement(site_id=site_id, item_code="AUD-N95", kind="out", quantity=Decimal("3")), actor=ACTOR)
    row = db.scalar(select(AuditLog).where(AuditLog.action == "stock.change").order_by(AuditLog.id.desc()))
    assert row.actor_user_id == 7 and row.district_code == "310105"
    assert row.detail["item_code"] == "AUD-N95" and Decimal(row.detail["delta"]) == -3 and row.ip


def test_identity_bearing_intake_is_audited(db, services, world: World) -> None:  # type: ignore[no-untyped-def]
    from ingest.writers import write_batch
    from store.places import Institution

    inst = db.get(Institution, world.a.institution_id)
    now = datetime(2026, 3, 1, 8, tzinfo=UTC)
    record = {"institution_code": inst.code, "record_id": "AUD-1", "version": 1, "disease_code": "SCOPE-D",
              "case_type": "confirmed", "onset_date": "2026-02-27", "diagnosis_time": now.isoformat(),
              "report_time": now.isoformat(), "patient": {"name": "李审计", "phone": "13800001234"}}
    no_identity = {**record, "record_id": "AUD-2"}
    no_identity.pop("patient")
    result, _ = write_batch(db, kind="case_report", records=[record, no_identity], cipher=services.cipher,
                            principal=None)
    assert result.accepted == 2, result.results
    (pending,) = db.scalars(select(AuditPending).where(AuditPending.action == "intake.identity"))
    assert audit.chain_pending(db) >= 1  # what the chainer does after the commit
    row = db.scalar(select(AuditLog).where(AuditLog.action == "intake.identity").order_by(AuditLog.id.desc()))
    assert row.detail["count"] == 1 and row.detail["ids"] == [result.results[0].id] and row.time == pending.time
    assert row.district_code == "310105" and "李审计" not in str(row.detail)
    assert audit.verify_chain(db, public_keys={}).ok and db.scalar(select(func.count(AuditPending.id))) == 0


def _identity_case(world: World, services: Services, record_id: str) -> dict[str, Any]:
    from store.places import Institution

    with services.session_factory() as s:
        code = s.get(Institution, world.a.institution_id).code
    now = datetime.now(UTC) - timedelta(hours=1)
    return {"institution_code": code, "record_id": record_id, "version": 1, "disease_code": "SCOPE-D",
            "case_type": "confirmed", "onset_date": (now - timedelta(days=2)).date().isoformat(),
            "diagnosis_time": now.isoformat(), "report_time": now.isoformat(), "patient": {"name": "并发审计"}}


def test_an_open_intake_does_not_hold_up_another_on_the_audit_chain(services, world: World) -> None:  # type: ignore[no-untyped-def]
    """Intake audits outside the chain's lock: a second intake commits while the first is still open (before
    migration 0011 it waited on the lock until the first committed), and both end up chained."""
    from ingest.writers import write_batch

    tag = uuid.uuid4().hex[:8]
    first_rec, second_rec = (_identity_case(world, services, f"AUD-{tag}-{n}") for n in (1, 2))
    try:
        with services.session_factory() as first, services.session_factory() as second:
            one, _ = write_batch(first, kind="case_report", records=[first_rec], cipher=services.cipher)
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            two, _ = write_batch(second, kind="case_report", records=[second_rec], cipher=services.cipher)
            second.commit()
            first.commit()
        with services.session_factory() as s:
            audit.chain_all_pending(s)
            s.commit()
            ids = [r.detail["ids"] for r in s.scalars(select(AuditLog).where(AuditLog.action == "intake.identity")
                                                       .order_by(AuditLog.id.desc()).limit(2))]
            assert sorted(ids) == sorted([[one.results[0].id], [two.results[0].id]])
            assert audit.verify_chain(s, public_keys={}).unchained == 0
    finally:
        with services.session_factory() as s:
            s.execute(text("DELETE FROM case_report WHERE source_id LIKE :p"), {"p": f"%AUD-{tag}-%"})
            s.commit()


def test_intake_over_http_is_chained_soon_after_its_commit(services, world: World) -> None:  # type: ignore[no-untyped-def]
    from ingest.writers import store_batch

    tag = uuid.uuid4().hex[:8]
    try:
        result = store_batch(services, kind="case_report", records=[_identity_case(world, services, f"AUD-{tag}")])
        case_id = result.results[0].id
        deadline = time.monotonic() + 10
        row = None
        while row is None and time.monotonic() < deadline:  # the process's chainer thread links it
            with services.session_factory() as s:
                row = s.scalar(select(AuditLog).where(AuditLog.action == "intake.identity",
                                                      AuditLog.detail["ids"].contains([case_id])))
            time.sleep(0.05)
        assert row is not None, "the intake's audit action was not chained within 10 s"
    finally:
        with services.session_factory() as s:
            s.execute(text("DELETE FROM case_report WHERE source_id LIKE :p"), {"p": f"%AUD-{tag}%"})
            s.commit()


# ---- the unsigned tail after the last signed checkpoint: its length and age are reported ----

def test_verifier_reports_length_and_age_of_the_unsigned_tail(db) -> None:  # type: ignore[no-untyped-def]
    signer = audit.AuditSigner(generate_keypair()[0])
    keys = {signer.key_id: signer.public_hex}
    audit.record(db, actor=ACTOR, action="case.read", ip="10.0.0.1")
    audit.checkpoint(db, signer)
    signed = audit.verify_chain(db, public_keys=keys)
    assert signed.ok and signed.unsigned_tail == 0 and signed.unsigned_age() is None
    for _ in range(3):
        audit.record(db, actor=ACTOR, action="case.read", ip="10.0.0.1")
    report = audit.verify_chain(db, public_keys=keys)
    first_unsigned = db.scalars(select(AuditLog.time).order_by(AuditLog.id.desc()).limit(3)).all()[-1]
    assert report.ok and report.unsigned_tail == 3 and report.unsigned_since == first_unsigned
    later = first_unsigned + timedelta(minutes=11)
    assert report.unsigned_age(later) == timedelta(minutes=11)


@pytest.fixture
def own_chain() -> Iterator[Services]:
    """A database of its own: checkpoints signed here with a throwaway key must not enter the package's chain."""
    name = f"onemap_test_{uuid.uuid4().hex[:10]}"
    create_database(name)
    own = make_test_settings(name)
    migrate(own)
    svc = build_services(own, pool_size=1)
    yield svc
    svc.engine.dispose()
    drop_database(name)


def test_audit_verify_cli_prints_the_tail_and_flags_a_stale_one(own_chain, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = generate_keypair()[0]
    monkeypatch.setattr(audit, "_signer", audit._signer)  # the CLI installs its signer process-wide: restore it
    monkeypatch.setenv("DATABASE_URL", own_chain.settings.database_url)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", key)
    monkeypatch.setenv("REDIS_NAMESPACE", own_chain.settings.redis_namespace)
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    with own_chain.session_factory() as db:  # a row written 20 minutes ago, after the newest checkpoint
        audit.set_checkpoint_signer(None)
        audit.record(db, actor=None, action="case.read", ip="10.0.0.2")
        row = db.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
        row.time = datetime.now(UTC) - timedelta(minutes=20)
        row.row_hash = audit.row_hash(row.prev_hash, row)
        db.commit()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "1 rows after the newest signed checkpoint, the oldest" in ok.output
    stale = runner.invoke(cli, ["audit", "verify", "--max-unsigned-age", "600"])
    assert stale.exit_code == 2 and "STALE" in stale.output
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--max-unsigned-age", "600"]).exit_code == 0


def test_cli_audit_rows_say_they_came_from_the_command_line(settings, services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.factories.users import make_user

    user, _ = make_user(services, "district_analyst")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_NAMESPACE", settings.redis_namespace)
    before = _last_audit_id(services)
    result = CliRunner().invoke(cli, ["token", "create", "--user", user.username])
    assert result.exit_code == 0, result.output
    (row,) = _audit_rows(services, "token.create", before)
    assert row.ip.startswith("cli:")
