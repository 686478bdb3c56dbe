"""Issue #14, findings 1, 3 and 7 (lockout): sessions and tokens.

1. A token in an /embed URL is no login any more; the city frames pages with short-lived, single-use,
   page-scoped tickets issued over the signed API. Kiosk and embed sessions are view-only. A password
   change needs the current password and a fresh SM2 signature; minting a token needs a fresh signature;
   token lifetimes are capped.
3. Revoking a device token ends the sessions born from it at once; a device token is no API bearer token.
7. Failed passwords throttle one (name, client address) pair, and unknown names get the same answer.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import select, update

from accounts.passwords import verify_password
from accounts.request_signing import sign_request
from accounts.tokens import TokenLifetimeError, create_token
from cli.context import CliContext
from cli.main import cli
from config import Settings
from dashboard.view_only import WRITE_CALLBACK_OUTPUTS
from security.sm2 import generate_keypair, sm2_sign
from security.sm3 import sm3_digest
from store.accounts import ApiClient, ApiToken, AppUser
from tests.conftest import make_test_settings
from tests.factories.users import TEST_PASSWORD, login, make_user

TICKETS = "/api/v1/embed/tickets"
NEW_PASSWORD = "Neu#Passw0rd9"


# ---------------------------------------------------------------- helpers


def _ip() -> dict[str, Any]:
    """A fresh client address per test, so per-address limits do not couple tests."""
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"}


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "form has no CSRF token"
    return m.group(1)


def _session_csrf(client: Any) -> str:
    with client.session_transaction() as sess:
        return str(sess["csrf"])


def _password_step(client: Any, username: str, password: str, env: dict[str, Any]) -> Any:
    page = client.get("/login", environ_base=env)
    return client.post("/login", data={"username": username, "password": password, "next": "/monitor",
                                       "csrf_token": _csrf(page.get_data(as_text=True))}, environ_base=env)


def _route_payload(path: str, search: str = "") -> dict[str, Any]:
    return {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": path},
                       {"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.pathname"], "state": []}


def _task_action_payload(task_id: int = 1) -> dict[str, Any]:
    """The /tasks accept button's callback: a writing callback (it signs for a task)."""
    states = [{"id": f"tasks-{n}", "property": "value", "value": None} for n in
              ("return-reason", "sub-title", "sub-type", "sub-assignee", "sub-deadline", "fb-status", "fb-progress",
               "fb-note", "fb-persons_traced", "fb-samples_taken", "fb-sites_disinfected")]
    return {"output": "..tasks-message.children...tasks-changed.data..",
            "outputs": [{"id": "tasks-message", "property": "children"}, {"id": "tasks-changed", "property": "data"}],
            "inputs": [{"id": "tasks-accept", "property": "n_clicks", "value": 1},
                       *[{"id": f"tasks-{n}", "property": "n_clicks", "value": None}
                         for n in ("return", "cancel", "split", "feedback")]],
            "state": [{"id": "tasks-selected", "property": "data", "value": task_id},
                      {"id": "tasks-changed", "property": "data", "value": 0}, *states],
            "changedPropIds": ["tasks-accept.n_clicks"]}


def _kiosk(services: Any) -> tuple[AppUser, int, str]:
    user, _ = make_user(services, "wall_kiosk", "310105")
    with services.session_factory() as db:
        row, device = create_token(db, user_id=user.id, name="大屏", kind="device")
        db.commit()
        return user, row.id, device


def _cli(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj=CliContext(settings=settings))


@pytest.fixture(scope="module")
def city(services) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The city platform: a city_api user with a registered SM2 client key."""
    priv, pub = generate_keypair()
    user, _ = make_user(services, "city_api", "310000")
    key_id = f"city-{uuid.uuid4().hex[:8]}"
    with services.session_factory() as db:
        db.add(ApiClient(key_id=key_id, name="市级平台", user_id=user.id, sm2_public_key=pub))
        db.commit()
    return {"key_id": key_id, "private": priv, "user": user}


def _ticket_response(app: Any, city: dict[str, Any], page: str = "monitor", region: str = "310105") -> Any:
    body = json.dumps({"page": page, "region": region}).encode()
    headers = sign_request(private_key_hex=city["private"], key_id=city["key_id"], method="POST", path=TICKETS,
                           body=body)
    return app.test_client().post(TICKETS, data=body, headers={**headers, "Content-Type": "application/json"})


def _ticket(app: Any, city: dict[str, Any], page: str = "monitor", region: str = "310105") -> str:
    resp = _ticket_response(app, city, page, region)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return str(resp.get_json()["ticket"])


def _embed_client(app: Any, city: dict[str, Any], page: str = "monitor") -> Any:
    client = app.test_client()
    resp = client.get(f"/embed/{page}?ticket={_ticket(app, city, page)}")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/embed/{page}?region=310105"
    return client


def _stepup(client: Any, priv: str) -> tuple[str, str]:
    """GET /profile: (form CSRF token, signature over the step-up challenge shown)."""
    page = client.get("/profile").get_data(as_text=True)
    text = re.search(r'<pre id="stepup-challenge">([^<]+)</pre>', page).group(1)  # type: ignore[union-attr]
    assert text.startswith("onemap-stepup|")
    return _csrf(page), base64.b64encode(sm2_sign(priv, text.encode())).decode()


def _keyed_user(services: Any, role: str = "district_analyst") -> tuple[AppUser, str]:
    priv, pub = generate_keypair()
    user, _ = make_user(services, role, "310105", sm2_public_key=pub)
    return user, priv


# ---------------------------------------------------------------- finding 1: embed tickets


@pytest.mark.parametrize("kind", ["personal", "device"])
def test_a_token_in_an_embed_url_opens_no_session(app, services, kind: str) -> None:  # type: ignore[no-untyped-def]
    if kind == "personal":
        _, token = make_user(services, "district_analyst", "310105")
    else:
        _, _, token = _kiosk(services)
    client = app.test_client()
    resp = client.get(f"/embed/monitor?token={token}&region=310105")
    assert resp.status_code == 401 and "onemap_session=" not in resp.headers.get("Set-Cookie", "").replace(
        "onemap_session=;", "")
    with client.session_transaction() as sess:
        assert "sid" not in sess
    assert client.get("/profile").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_tickets_come_only_from_the_signed_city_client(app, services, city) -> None:  # type: ignore[no-untyped-def]
    admin, bearer = make_user(services, "city_admin", "310000")
    anon = app.test_client()
    body = {"page": "monitor", "region": "310105"}
    assert anon.post(TICKETS, json=body).status_code == 401
    assert anon.post(TICKETS, json=body, headers={"Authorization": f"Bearer {bearer}"}).status_code == 401
    browser = app.test_client()
    csrf = login(browser, admin)
    assert browser.post(TICKETS, json=body, headers={"X-CSRFToken": csrf}).status_code == 401
    resp = _ticket_response(app, city)
    assert resp.status_code == 201
    out = resp.get_json()
    expires = datetime.fromisoformat(out["expires_at"])
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=60)
    key = f"{services.settings.redis_namespace}:embed-ticket:{sm3_digest(out['ticket'].encode()).hex()}"
    assert 0 < services.redis.ttl(key) <= 60
    assert services.redis.get(f"{services.settings.redis_namespace}:embed-ticket:{out['ticket']}") is None
    bad = _ticket_response(app, city, page="profile")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "page"
    bad = _ticket_response(app, city, region="31010")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "region"


def test_ticket_is_single_use_and_bound_to_its_page_and_region(app, city) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(app, city, "monitor")
    client = app.test_client()
    resp = client.get(f"/embed/monitor?ticket={ticket}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/embed/monitor?region=310105"
    page = client.get("/embed/monitor?region=310105")
    assert page.status_code == 200 and b"_dash-config" in page.data
    assert app.test_client().get(f"/embed/monitor?ticket={ticket}").status_code == 401  # spent
    other = _ticket(app, city, "monitor")
    assert app.test_client().get(f"/embed/command?ticket={other}").status_code == 403  # another page
    assert app.test_client().get(f"/embed/monitor?ticket={other}").status_code == 401  # and spent by that try
    third = _ticket(app, city, "monitor", "310105")
    assert app.test_client().get(f"/embed/monitor?ticket={third}&region=310104").status_code == 403


def test_ticket_lifetime_is_configurable_downwards_only(settings, services, city) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    short = create_app(make_test_settings("x", database_url=settings.database_url,
                                          redis_namespace=settings.redis_namespace, embed_ticket_seconds=5))
    ticket = _ticket(short, city)
    key = f"{settings.redis_namespace}:embed-ticket:{sm3_digest(ticket.encode()).hex()}"
    assert 0 < services.redis.ttl(key) <= 5
    with pytest.raises(ValidationError):
        make_test_settings("x", embed_ticket_seconds=61)


def test_embed_session_is_view_only_and_page_scoped(app, city) -> None:  # type: ignore[no-untyped-def]
    client = _embed_client(app, city, "monitor")
    csrf = _session_csrf(client)
    hdr = {"X-CSRFToken": csrf}
    assert client.post("/_dash-update-component", json=_route_payload("/embed/monitor", "?region=310105"),
                       headers=hdr).status_code == 200
    assert client.get("/profile").status_code == 403
    for path, data in (("/profile/tokens", {"name": "x"}), ("/profile/password", {"new_password": NEW_PASSWORD})):
        resp = client.post(path, data={**data, "csrf_token": csrf})
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "session.view_only"
    deadline = (datetime.now(UTC) + timedelta(hours=6)).isoformat()
    assert client.post("/api/v1/dispatch/tasks", json={"title": "嵌入", "type": "epi", "deadline": deadline},
                       headers=hdr).status_code == 403
    assert client.post("/api/v1/ingest/syndromic", json={"records": []}, headers=hdr).status_code == 403
    assert client.post("/_dash-update-component", json=_task_action_payload(), headers=hdr).status_code == 403
    # bound to its page: no other page, not even through the Dash router
    assert client.get("/monitor").status_code == 403 and client.get("/tasks").status_code == 403
    assert client.post("/_dash-update-component", json=_route_payload("/tasks"), headers=hdr).status_code == 403
    assert client.post("/_dash-update-component", json=_route_payload("/embed/command"),
                       headers=hdr).status_code == 403
    out = client.post("/_dash-update-component", json=_route_payload("/embed/monitor", "?region=310104"),
                      headers=hdr).get_json()
    assert "无权查看该区域" in json.dumps(out, ensure_ascii=False)


def test_kiosk_session_is_view_only(app, services) -> None:  # type: ignore[no-untyped-def]
    _, _, device = _kiosk(services)
    client, env = app.test_client(), _ip()
    assert client.get(f"/login/device?token={device}", environ_base=env).status_code == 303
    hdr = {"X-CSRFToken": _session_csrf(client)}
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 200
    assert client.post("/_dash-update-component", json=_route_payload("/monitor", "?wall=1"), headers=hdr,
                       environ_base=env).status_code == 200
    assert client.get("/profile", environ_base=env).status_code == 403
    assert client.post("/profile/tokens", data={"name": "十年", "expires_days": "3650", "csrf_token": hdr["X-CSRFToken"]},
                       environ_base=env).status_code == 403
    assert client.post("/_dash-update-component", json=_task_action_payload(), headers=hdr,
                       environ_base=env).status_code == 403
    assert client.post("/_dash-update-component", json={"output": "x"}, headers=hdr,
                       environ_base=env).status_code == 403  # a body naming no outputs is no read
    assert client.post("/logout", data={"csrf_token": hdr["X-CSRFToken"]}, environ_base=env).status_code == 303


def test_every_listed_writing_callback_exists(app, services) -> None:  # type: ignore[no-untyped-def]
    """The view-only guard knows writing callbacks by their message outputs: those ids must stay real."""
    client = app.test_client()
    login(client, make_user(services, "district_commander", "310105")[0])
    outputs = " ".join(d["output"] for d in client.get("/_dash-dependencies").get_json())
    for cid in WRITE_CALLBACK_OUTPUTS:
        assert f"{cid}." in outputs, f"no callback writes to {cid}"


# ---------------------------------------------------------------- finding 1: step-up, lifetimes


def test_password_change_needs_current_password_and_fresh_signature(app, services) -> None:  # type: ignore[no-untyped-def]
    user, priv = _keyed_user(services)
    client = app.test_client()
    login(client, user)
    csrf, _ = _stepup(client, priv)
    resp = client.post("/profile/password", data={"new_password": NEW_PASSWORD, "csrf_token": csrf})
    assert resp.status_code == 403 and "当前密码不正确" in resp.get_data(as_text=True)
    csrf, sig = _stepup(client, priv)
    resp = client.post("/profile/password", data={"current_password": "Wrong#Pass1", "new_password": NEW_PASSWORD,
                                                  "signature": sig, "csrf_token": csrf})
    assert resp.status_code == 403
    csrf, _ = _stepup(client, priv)
    resp = client.post("/profile/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                  "csrf_token": csrf})
    assert resp.status_code == 403 and "证书签名验证失败" in resp.get_data(as_text=True)
    other, _ = generate_keypair()
    csrf, _ = _stepup(client, priv)
    page = client.get("/profile").get_data(as_text=True)  # a newer challenge replaces the older one
    text = re.search(r'<pre id="stepup-challenge">([^<]+)</pre>', page).group(1)  # type: ignore[union-attr]
    forged = base64.b64encode(sm2_sign(other, text.encode())).decode()
    assert client.post("/profile/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                  "signature": forged, "csrf_token": _csrf(page)}).status_code == 403
    with services.session_factory() as db:
        row = db.get(AppUser, user.id)
        assert verify_password(TEST_PASSWORD, hashed=row.password_hash, salt=row.password_salt,
                               iterations=row.password_iterations)
    csrf, sig = _stepup(client, priv)
    resp = client.post("/profile/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                  "signature": sig, "csrf_token": csrf})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    with services.session_factory() as db:
        row = db.get(AppUser, user.id)
        assert verify_password(NEW_PASSWORD, hashed=row.password_hash, salt=row.password_salt,
                               iterations=row.password_iterations)


def test_token_minting_needs_a_fresh_signature_once(app, services) -> None:  # type: ignore[no-untyped-def]
    user, priv = _keyed_user(services)
    client = app.test_client()
    login(client, user)
    csrf, sig = _stepup(client, priv)
    assert client.post("/profile/tokens", data={"name": "无签名", "csrf_token": csrf}).status_code == 403
    csrf, sig = _stepup(client, priv)
    ok = client.post("/profile/tokens", data={"name": "脚本", "signature": sig, "csrf_token": csrf})
    assert ok.status_code == 200 and 'id="new-token"' in ok.get_data(as_text=True)
    # the same signature again: its challenge was spent (and replaced by the page just shown)
    again = client.post("/profile/tokens", data={"name": "重放", "signature": sig,
                                                 "csrf_token": _csrf(ok.get_data(as_text=True))})
    assert again.status_code == 403
    # a login challenge signed by the right key is no step-up
    with client.session_transaction() as sess:
        from accounts.login import issue_challenge

        cid, text = issue_challenge(services.redis, services.settings.redis_namespace, user_id=user.id)
        sess["stepup"] = cid
    login_sig = base64.b64encode(sm2_sign(priv, text.encode())).decode()
    assert client.post("/profile/tokens", data={"name": "登录挑战", "signature": login_sig,
                                                "csrf_token": _csrf(ok.get_data(as_text=True))}).status_code == 403
    with services.session_factory() as db:
        names = set(db.scalars(select(ApiToken.name).where(ApiToken.user_id == user.id)))
    assert "脚本" in names and not names & {"无签名", "重放", "登录挑战"}


def test_token_lifetimes_are_capped(app, settings, services) -> None:  # type: ignore[no-untyped-def]
    user, _ = make_user(services, "district_analyst", "310105")
    with services.session_factory() as db:  # rolled back: it holds the audit chain's lock until then
        with pytest.raises(TokenLifetimeError):
            create_token(db, user_id=user.id, name="x", expires_days=91)
        with pytest.raises(TokenLifetimeError):
            create_token(db, user_id=user.id, name="x", kind="device", expires_days=366)
        with pytest.raises(TokenLifetimeError):
            create_token(db, user_id=user.id, name="x", expires_days=31, max_days=30)
        row, _ = create_token(db, user_id=user.id, name="默认")
        assert timedelta(days=89) < row.expires_at - datetime.now(UTC) <= timedelta(days=90)
        row, _ = create_token(db, user_id=user.id, name="设备", kind="device")
        assert timedelta(days=364) < row.expires_at - datetime.now(UTC) <= timedelta(days=365)
        db.rollback()
    for bad in ({"personal_token_max_days": 91}, {"device_token_max_days": 366}):
        with pytest.raises(ValidationError):
            make_test_settings("x", **bad)
    # the CLI: over the cap refused, configured lower cap enforced
    assert _cli(settings, "token", "create", "--user", user.username, "--expires", "91").exit_code == 1
    lower = settings.model_copy(update={"personal_token_max_days": 7})
    assert _cli(lower, "token", "create", "--user", user.username, "--expires", "8").exit_code == 1
    assert _cli(lower, "token", "create", "--user", user.username, "--expires", "7").exit_code == 0
    assert _cli(settings, "token", "create", "--user", user.username, "--device", "--expires", "366").exit_code != 0


def test_web_token_lifetime_is_capped(app, services) -> None:  # type: ignore[no-untyped-def]
    user, priv = _keyed_user(services)
    client = app.test_client()
    login(client, user)
    csrf, sig = _stepup(client, priv)
    resp = client.post("/profile/tokens", data={"name": "十年", "expires_days": "3650", "signature": sig,
                                                "csrf_token": csrf})
    assert resp.status_code == 422
    with services.session_factory() as db:
        assert db.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == "十年")) is None


def test_an_old_token_without_expiry_stops_at_the_cap(app, services) -> None:  # type: ignore[no-untyped-def]
    user, token = make_user(services, "district_analyst", "310105")
    with services.session_factory() as db:
        db.execute(update(ApiToken).where(ApiToken.user_id == user.id).values(
            expires_at=None, created_at=datetime.now(UTC) - timedelta(days=91)))
        db.commit()
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# ---------------------------------------------------------------- finding 3: revocation


def test_revoking_the_device_token_ends_the_wall_session_at_once(app, settings, services) -> None:  # type: ignore[no-untyped-def]
    _, token_id, device = _kiosk(services)
    client, env = app.test_client(), _ip()
    assert client.get(f"/login/device?token={device}", environ_base=env).status_code == 303
    hdr = {"X-CSRFToken": _session_csrf(client)}
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 200
    assert client.post("/_dash-update-component", json=_route_payload("/monitor", "?wall=1"), headers=hdr,
                       environ_base=env).status_code == 200
    out = _cli(settings, "token", "revoke", str(token_id))
    assert out.exit_code == 0 and "1 session(s) ended" in out.output
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 302
    assert client.post("/_dash-update-component", json=_route_payload("/monitor", "?wall=1"), headers=hdr,
                       environ_base=env).status_code == 401


def test_a_wall_session_rechecks_its_token_on_every_request(app, services) -> None:  # type: ignore[no-untyped-def]
    """Even when the token is revoked behind Redis's back (or simply expires), the session ends."""
    _, token_id, device = _kiosk(services)
    client, env = app.test_client(), _ip()
    assert client.get(f"/login/device?token={device}", environ_base=env).status_code == 303
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 200
    with services.session_factory() as db:
        db.execute(update(ApiToken).where(ApiToken.id == token_id).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.commit()
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 302


def test_a_device_token_is_no_api_bearer_token(app, services) -> None:  # type: ignore[no-untyped-def]
    _, _, device = _kiosk(services)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {device}"}).status_code == 401
    assert api.get("/api/v1/layers/incidence", headers={"Authorization": f"Bearer {device}"}).status_code == 401


# ---------------------------------------------------------------- finding 7: throttling, not lockout


def test_failures_throttle_one_name_from_one_address_only(app, services) -> None:  # type: ignore[no-untyped-def]
    user, _ = make_user(services, "district_analyst", "310105")
    attacker, victim = _ip(), _ip()
    for _ in range(5):
        assert _password_step(app.test_client(), user.username, "Wrong#Pass1", attacker).status_code == 401
    blocked = _password_step(app.test_client(), user.username, TEST_PASSWORD, attacker)
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.get_data(as_text=True)
    # the real user, from their own address, still logs in: nobody can lock an account for everyone
    assert _password_step(app.test_client(), user.username, TEST_PASSWORD, victim).status_code == 303
    with services.session_factory() as db:
        assert db.get(AppUser, user.id).locked_until is None


def test_unknown_names_get_the_same_answers(app, services) -> None:  # type: ignore[no-untyped-def]
    user, _ = make_user(services, "district_analyst", "310105")
    known, unknown = _ip(), _ip()
    ghost = "t_ghost_" + uuid.uuid4().hex[:8]

    def answers(name: str, env: dict[str, Any]) -> list[tuple[int, str]]:
        out = []
        for _ in range(6):
            resp = _password_step(app.test_client(), name, "Wrong#Pass1", env)
            out.append((resp.status_code, re.search(r'role="alert">([^<]+)<', resp.get_data(as_text=True)).group(1)))
        return out

    assert answers(user.username, known) == answers(ghost, unknown)
    assert answers(ghost, _ip())[-1][0] == 429
