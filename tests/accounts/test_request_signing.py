"""SM2-signed requests of the city platform: accepted once; replays, bad signatures and stale times refused."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from flask import g, jsonify

from accounts.request_signing import SignatureError, sign_request, verify_request
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from tests.conftest import make_test_settings
from tests.factories.users import make_user

KEY_ID = f"city-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def signed_app(settings, services):  # type: ignore[no-untyped-def]
    """An app with one route behind require_signed_client, and a registered city client."""
    from dashboard import create_app
    from dashboard.auth import require_signed_client

    app = create_app(make_test_settings("x", database_url=settings.database_url,
                                        redis_namespace=settings.redis_namespace))

    @app.post("/api/v1/test-signed/<int:n>")
    @require_signed_client()
    def signed(n: int):  # type: ignore[no-untyped-def]
        return jsonify({"n": n, "user": g.principal.username, "role": g.principal.role})

    priv, pub = generate_keypair()
    user, _ = make_user(services, "city_api", "310000")
    with services.session_factory() as db:
        db.add(ApiClient(key_id=KEY_ID, name="市级平台", user_id=user.id, sm2_public_key=pub))
        db.commit()
    app.config["TEST_PRIVATE_KEY"] = priv
    return app


def _send(app: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post(path, data=body, headers={**headers, "Content-Type": "application/json"})


def test_signed_request_is_accepted_once(signed_app) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"task": "排查"}, ensure_ascii=False).encode()
    path = "/api/v1/test-signed/7?x=1"
    headers = sign_request(private_key_hex=signed_app.config["TEST_PRIVATE_KEY"], key_id=KEY_ID, method="POST",
                           path=path, body=body)
    resp = _send(signed_app, path, body, headers)
    assert resp.status_code == 200 and resp.get_json()["role"] == "city_api"
    replay = _send(signed_app, path, body, headers)
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "sig.replayed"


@pytest.mark.parametrize("case, code", [("tampered_body", "sig.bad_signature"), ("wrong_key", "sig.bad_signature"),
                                        ("other_path", "sig.bad_signature"), ("stale", "sig.expired"),
                                        ("future", "sig.expired"), ("unknown_key", "sig.unknown_key"),
                                        ("missing", "sig.missing"), ("garbage_signature", "sig.bad_signature")])
def test_bad_signed_requests_are_refused(signed_app, case: str, code: str) -> None:  # type: ignore[no-untyped-def]
    priv, body, path = signed_app.config["TEST_PRIVATE_KEY"], b'{"a":1}', "/api/v1/test-signed/1"
    now = time.time() + {"stale": -301, "future": 400}.get(case, 0)
    key = generate_keypair()[0] if case == "wrong_key" else priv
    headers = sign_request(private_key_hex=key, key_id="nobody" if case == "unknown_key" else KEY_ID,
                           method="POST", path="/api/v1/test-signed/2" if case == "other_path" else path,
                           body=body, now=now)
    if case == "tampered_body":
        body = b'{"a":2}'
    if case == "missing":
        headers.pop("X-OneMap-Nonce")
    if case == "garbage_signature":
        headers["X-OneMap-Signature"] = "not base64!"
    resp = _send(signed_app, path, body, headers)
    assert resp.status_code == 401
    err = resp.get_json()["error"]
    assert err["code"] == code and err["message_zh"]


def test_bearer_and_session_do_not_satisfy_a_signed_route(signed_app, services) -> None:  # type: ignore[no-untyped-def]
    _, token = make_user(services, "city_api", "310000")
    resp = signed_app.test_client().post("/api/v1/test-signed/1", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "sig.missing"


def test_signed_client_is_scoped_like_its_user(signed_app) -> None:  # type: ignore[no-untyped-def]
    path = "/api/v1/me"
    headers = sign_request(private_key_hex=signed_app.config["TEST_PRIVATE_KEY"], key_id=KEY_ID, method="GET",
                           path=path, body=b"")
    resp = signed_app.test_client().get(path, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["role"] == "city_api"


def test_verify_request_spends_nonce_only_after_a_valid_signature() -> None:
    priv, pub = generate_keypair()
    seen: set[str] = set()

    def store(key: str, ttl: int) -> bool:
        assert ttl >= 600
        if key in seen:
            return False
        seen.add(key)
        return True

    headers = sign_request(private_key_hex=priv, key_id="k", method="GET", path="/p", body=b"")
    forged = {**headers, "X-OneMap-Signature": sign_request(private_key_hex=generate_keypair()[0], key_id="k",
                                                            method="GET", path="/p", body=b"")["X-OneMap-Signature"]}
    args: dict[str, Any] = dict(method="GET", path="/p", body=b"", lookup_public_key={"k": pub}.get, nonce_store=store)
    with pytest.raises(SignatureError) as err:
        verify_request(headers=forged, **args)
    assert err.value.code == "sig.bad_signature" and not seen
    assert verify_request(headers=headers, **args) == "k"
    with pytest.raises(SignatureError) as err:
        verify_request(headers=headers, **args)
    assert err.value.code == "sig.replayed"
