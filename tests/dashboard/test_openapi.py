"""Issue #14 (finding 6 / API surface): every /api rule is documented; unknown paths 404, wrong methods 405."""
from __future__ import annotations

from typing import Any

import pytest

from dashboard.openapi import openapi_path

IGNORED = {"HEAD", "OPTIONS"}


def _api_operations(app: Any) -> set[tuple[str, str]]:
    return {(openapi_path(rule.rule)[0], method.lower())
            for rule in app.url_map.iter_rules() if rule.rule.startswith("/api")
            for method in rule.methods - IGNORED}


def test_every_api_rule_is_in_the_openapi_document(app, client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    operations = _api_operations(app)
    assert len(operations) >= 43
    missing = sorted(operations - documented)
    assert not missing, f"routes missing from /api/v1/openapi.json: {missing}"
    stale = sorted(documented - operations)
    assert not stale, f"documented operations without a route: {stale}"


def test_no_api_rule_accepts_every_method(app) -> None:  # type: ignore[no-untyped-def]
    catch_alls = [rule.rule for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api") and {"GET", "POST", "PUT", "PATCH", "DELETE"} <= rule.methods]
    assert not catch_alls


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope/deeper/still", "/api/v2/layers", "/api/v1/me/extra"])
def test_unknown_api_paths_answer_404_json(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.open(path, method=method, json={} if method in ("POST", "PUT", "PATCH") else None)
    assert resp.status_code == 404, (method, path, resp.status_code)
    if method != "HEAD":
        assert resp.get_json()["error"]["code"] == "http.404"


@pytest.mark.parametrize("method, path, allow", [
    ("POST", "/api/v1/me", "GET"), ("DELETE", "/api/v1/layers", "GET"), ("PUT", "/api/v1/dispatch/tasks", "GET"),
    ("GET", "/api/v1/ingest/case", "POST"), ("PATCH", "/api/v1/signals/1/transition", "POST"),
])
def test_known_paths_with_a_wrong_method_answer_405(client, method: str, path: str,  # type: ignore[no-untyped-def]
                                                     allow: str) -> None:
    resp = client.open(path, method=method)
    assert resp.status_code == 405, (method, path, resp.status_code)
    assert allow in resp.headers["Allow"]
    assert resp.get_json()["error"]["code"] == "http.405"


def test_known_paths_still_answer(client, principal_token) -> None:  # type: ignore[no-untyped-def]
    _, token = principal_token("district_analyst")
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["role"] == "district_analyst"
    assert client.get("/api/v1/me").status_code == 401
