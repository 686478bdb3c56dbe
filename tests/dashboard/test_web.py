"""Login (password + SM2 challenge), lockout, idle expiry, device login, CSRF, headers, tokens, pages."""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from accounts.passwords import PasswordPolicyError, check_policy
from dashboard.pages import PAGES
from security.sm2 import generate_keypair, sm2_sign
from store.accounts import AppUser
from store.audit import AuditLog
from tests.conftest import make_test_settings
from tests.factories.scope import World
from tests.factories.users import TEST_PASSWORD, login, make_user


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "form has no CSRF token"
    return m.group(1)


def _ip() -> dict[str, Any]:
    """A fresh client address per test, so the per-IP login rate limit does not couple tests."""
    return {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}


def _password_step(client: Any, username: str, password: str, env: dict[str, Any], next_: str = "/monitor") -> Any:
    page = client.get("/login", environ_base=env)
    return client.post("/login", data={"username": username, "password": password, "next": next_,
                                       "csrf_token": _csrf(page.get_data(as_text=True))}, environ_base=env)


def _challenge(client: Any, env: dict[str, Any]) -> tuple[str, str]:
    page = client.get("/login/verify", environ_base=env).get_data(as_text=True)
    text = re.search(r'<pre id="challenge">([^<]+)</pre>', page).group(1)  # type: ignore[union-attr]
    return text, _csrf(page)


def _two_factor_user(services: Any) -> tuple[AppUser, str]:
    priv, pub = generate_keypair()
    user, _ = make_user(services, "district_analyst", "310105", sm2_public_key=pub)
    return user, priv


def _audit_actions(services: Any, user_id: int) -> list[str]:
    with services.session_factory() as db:
        return list(db.scalars(select(AuditLog.action).where(AuditLog.actor_user_id == user_id).order_by(AuditLog.id)))


def test_two_factor_login_logout_and_audit(app, services) -> None:  # type: ignore[no-untyped-def]
    client, env = app.test_client(), _ip()
    user, priv = _two_factor_user(services)
    assert client.get("/monitor", environ_base=env).headers["Location"] == "/login?next=%2Fmonitor"
    resp = _password_step(client, user.username, TEST_PASSWORD, env, next_="/command?x=1")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login/verify"
    text, csrf = _challenge(client, env)
    sig = base64.b64encode(sm2_sign(priv, text.encode())).decode()
    resp = client.post("/login/verify", data={"signature": sig, "csrf_token": csrf}, environ_base=env)
    assert resp.status_code == 303 and resp.headers["Location"] == "/command?x=1"
    page = client.get("/monitor", environ_base=env)
    assert page.status_code == 200 and b"_dash-config" in page.data
    me = client.get("/api/v1/me", environ_base=env).get_json()
    assert me["username"] == user.username and me["region_code"] == "310105"
    assert _audit_actions(services, user.id)[-1] == "login.ok"
    # logout needs the (rotated) CSRF token, then the session is gone
    assert client.post("/logout", data={}, environ_base=env).status_code == 403
    csrf = _csrf(client.get("/logout", environ_base=env).get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": csrf}, environ_base=env).status_code == 303
    assert client.get("/monitor", environ_base=env).status_code == 302


def test_second_factor_wrong_key_and_replay_are_refused(app, services) -> None:  # type: ignore[no-untyped-def]
    client, env = app.test_client(), _ip()
    user, priv = _two_factor_user(services)
    other_priv, _ = generate_keypair()
    _password_step(client, user.username, TEST_PASSWORD, env)
    text, csrf = _challenge(client, env)
    bad = base64.b64encode(sm2_sign(other_priv, text.encode())).decode()
    resp = client.post("/login/verify", data={"signature": bad, "csrf_token": csrf}, environ_base=env)
    assert resp.status_code == 401 and "证书签名验证失败" in resp.get_data(as_text=True)
    # the challenge was spent: even the right signature over it no longer works
    good = base64.b64encode(sm2_sign(priv, text.encode())).decode()
    resp = client.post("/login/verify", data={"signature": good, "csrf_token": csrf}, environ_base=env)
    assert resp.status_code == 401 and client.get("/monitor", environ_base=env).status_code == 302
    assert "login.failed" in _audit_actions(services, user.id)


def test_throttle_after_five_failures(app, services) -> None:  # type: ignore[no-untyped-def]
    """Five failures hold back that name from that address (429), not the account for everyone (#14, finding 7)."""
    client, env = app.test_client(), _ip()
    user, _ = _two_factor_user(services)
    for _ in range(5):
        assert _password_step(client, user.username, "Wrong#Pass1", env).status_code == 401
    resp = _password_step(client, user.username, TEST_PASSWORD, env)
    assert resp.status_code == 429 and "尝试次数过多" in resp.get_data(as_text=True)
    with services.session_factory() as db:
        assert db.get(AppUser, user.id).locked_until is None
    assert _password_step(app.test_client(), user.username, TEST_PASSWORD, _ip()).status_code == 303
    assert _audit_actions(services, user.id).count("login.failed") == 5  # the throttled try has no actor


def test_unknown_user_gets_the_same_answer(app) -> None:  # type: ignore[no-untyped-def]
    resp = _password_step(app.test_client(), "nobody_" + uuid.uuid4().hex[:6], TEST_PASSWORD, _ip())
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)


def test_login_rate_limit(app) -> None:  # type: ignore[no-untyped-def]
    client, env = app.test_client(), _ip()
    # a different name each time: five failures of one name already throttle that name (finding 7)
    codes = [_password_step(client, f"nobody{i}", "x", env).status_code for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_login_without_csrf_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    resp = app.test_client().post("/login", data={"username": "a", "password": "b"}, environ_base=_ip())
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "csrf.invalid"


def test_open_redirect_is_refused(app, services) -> None:  # type: ignore[no-untyped-def]
    client, env = app.test_client(), _ip()
    user, priv = _two_factor_user(services)
    _password_step(client, user.username, TEST_PASSWORD, env, next_="//evil.example/x")
    text, csrf = _challenge(client, env)
    resp = client.post("/login/verify", data={"signature": base64.b64encode(sm2_sign(priv, text.encode())).decode(),
                                              "csrf_token": csrf}, environ_base=env)
    assert resp.headers["Location"] == "/monitor"


def test_idle_session_expires(app, services) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    user, _ = make_user(services, "district_commander", "310105")
    login(client, user)
    with client.session_transaction() as sess:
        key = f"{services.settings.redis_namespace}:session:{sess['sid']}"
    ttl = services.redis.ttl(key)
    assert services.settings.session_idle_minutes * 60 - 5 <= ttl <= services.settings.session_idle_minutes * 60
    assert client.get("/monitor").status_code == 200
    services.redis.pexpire(key, 1)  # 30 idle minutes pass
    time.sleep(0.02)
    assert client.get("/monitor").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_device_token_login_for_the_kiosk(app, services) -> None:  # type: ignore[no-untyped-def]
    from accounts.tokens import create_token, revoke_token

    client, env = app.test_client(), _ip()
    user, _ = make_user(services, "wall_kiosk", "310105")
    with services.session_factory() as db:
        row, device = create_token(db, user_id=user.id, name="大屏", kind="device")
        db.commit()
    resp = client.get(f"/login/device?token={device}", environ_base=env)
    assert resp.status_code == 303 and resp.headers["Location"] == "/monitor?wall=1"
    assert client.get("/monitor?wall=1", environ_base=env).status_code == 200
    with services.session_factory() as db:
        revoke_token(db, token_id=row.id, actor=None)
        db.commit()
    fresh = app.test_client()
    assert fresh.get(f"/login/device?token={device}", environ_base=env).status_code == 401
    # a personal token of a non-kiosk user is no device login
    other, personal = make_user(services, "district_commander", "310105")
    assert fresh.get(f"/login/device?token={personal}", environ_base=env).status_code == 401


def test_profile_creates_uses_and_revokes_a_token(app, services) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    priv, pub = generate_keypair()
    user, own_token = make_user(services, "district_analyst", "310104", sm2_public_key=pub)
    login(client, user)
    page = client.get("/profile").get_data(as_text=True)
    text = re.search(r'<pre id="stepup-challenge">([^<]+)</pre>', page).group(1)  # type: ignore[union-attr]
    sig = base64.b64encode(sm2_sign(priv, text.encode())).decode()  # minting needs a fresh second factor
    resp = client.post("/profile/tokens", data={"name": "脚本", "expires_days": "30", "signature": sig,
                                                "csrf_token": _csrf(page)})
    html = resp.get_data(as_text=True)
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', html).group(1)  # type: ignore[union-attr]
    anon = app.test_client()
    assert anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["region_code"] == "310104"
    token_id = int(re.findall(r"/profile/tokens/(\d+)/revoke", html)[-1])
    resp = client.post(f"/profile/tokens/{token_id}/revoke", data={"csrf_token": _csrf(html)})
    assert resp.status_code == 200
    assert anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert {"token.create", "token.revoke"} <= set(_audit_actions(services, user.id))
    # without the CSRF token nothing happens; a bearer token cannot mint tokens
    assert client.post("/profile/tokens", data={"name": "x"}).status_code == 403
    assert anon.post("/profile/tokens", data={"name": "x"},
                     headers={"Authorization": f"Bearer {own_token}"}).status_code in (302, 303)


def test_password_policy() -> None:
    for bad, code in (("Ab1!", "password.too_short"), ("abcdefgh1", "password.too_simple"),
                      ("Zhang#2024zhang", "password.contains_username")):
        with pytest.raises(PasswordPolicyError) as err:
            check_policy(bad, username="zhang")
        assert err.value.code == code
    check_policy("Good#pass1", username="zhang")


def test_security_headers_and_cookies(app, services) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    assert not re.search(r"https?://", csp), "no outside origin"
    script_src = next(p for p in csp.split("; ") if p.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    user, _ = make_user(services, "district_commander", "310105")
    login(client, user)
    page = client.get("/monitor")
    assert any("_csrf_token=" in c and "SameSite=Strict" in c for c in page.headers.getlist("Set-Cookie"))


def test_embed_pages_are_framable_only_by_the_city(settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    city = "https://city.example.gov.cn"
    app = create_app(make_test_settings("x", database_url=settings.database_url, city_origin=city,
                                        redis_namespace=settings.redis_namespace))
    client = app.test_client()
    embed = client.get("/embed/monitor")
    other = client.get("/login")
    assert f"frame-ancestors {city}" in embed.headers["Content-Security-Policy"] and "X-Frame-Options" not in embed.headers
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


def test_dash_callbacks_need_login_and_csrf(app, services) -> None:  # type: ignore[no-untyped-def]
    payload = {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
               "inputs": [{"id": "url", "property": "pathname", "value": "/monitor"},
                          {"id": "url", "property": "search", "value": ""}],
               "changedPropIds": ["url.pathname"], "state": []}
    anon = app.test_client()
    assert anon.post("/_dash-update-component", json=payload).status_code == 401
    client = app.test_client()
    user, _ = make_user(services, "district_commander", "310105")
    csrf = login(client, user)
    assert client.post("/_dash-update-component", json=payload).status_code == 403
    resp = client.post("/_dash-update-component", json=payload, headers={"X-CSRFToken": csrf})
    assert resp.status_code == 200


def test_pages_show_no_other_district(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    """Every registered page, rendered for a district-B user (also asking for A), shows nothing of A."""
    user = world.users["district_commander@B"][0]
    client = app.test_client()
    csrf = login(client, user)
    for path in PAGES:
        for search in ("", f"?district={world.a.code}&district_code={world.a.code}"):
            assert client.get(path + search).status_code == 200
            payload = {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
                       "inputs": [{"id": "url", "property": "pathname", "value": path},
                                  {"id": "url", "property": "search", "value": search}],
                       "changedPropIds": ["url.pathname"], "state": []}
            resp = client.post("/_dash-update-component", json=payload, headers={"X-CSRFToken": csrf})
            assert resp.status_code in (200, 204)
            assert world.a.marker not in json.dumps(resp.get_json(silent=True), ensure_ascii=False)


def test_ingest_rate_limit_per_user(app, services) -> None:  # type: ignore[no-untyped-def]
    _, token = make_user(services, "district_analyst", "310105")
    old = app.config["ONEMAP_INGEST_RATE_LIMIT"]
    app.config["ONEMAP_INGEST_RATE_LIMIT"] = "3/minute"
    try:
        client = app.test_client()
        codes = [client.post("/api/v1/ingest/syndromic", json={"records": []},
                             headers={"Authorization": f"Bearer {token}"}) for _ in range(4)]
    finally:
        app.config["ONEMAP_INGEST_RATE_LIMIT"] = old
    assert [c.status_code for c in codes[:3]] == [404] * 3, [c.get_data(as_text=True) for c in codes]  # counted all the same
    assert codes[3].status_code == 429 and codes[3].get_json()["error"]["code"] == "rate.limited"
    assert int(codes[3].headers["Retry-After"]) > 0
    ns = services.settings.redis_namespace
    assert any(b"LIMITER/ingest" in k for k in services.redis.scan_iter(f"{ns}:limits:*"))  # namespaced keys
