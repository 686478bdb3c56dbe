"""The app factory, health check and pages come up against real PostGIS and Redis."""
from __future__ import annotations

from config.runtime import build_services
from tests.conftest import make_test_settings


def test_healthz_reports_postgis_and_redis(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["checks"]["postgis"].startswith("ok (PostGIS 3")
    assert body["checks"]["redis"] == "ok"


def test_healthz_names_what_is_down(settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    broken = make_test_settings("unused", database_url=settings.database_url, redis_url="redis://127.0.0.1:1/0")
    resp = create_app(broken).test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["down"] == ["redis"]


def test_pages_need_login_then_render(client, principal_token, login) -> None:  # type: ignore[no-untyped-def]
    for path in ("/monitor", "/command", "/tasks", "/signals"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    user, _ = principal_token("district_analyst")
    login(client, user)
    for path in ("/monitor", "/command", "/tasks", "/signals"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert b"_dash-config" in resp.data


def test_unknown_api_path_is_json_404(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "http.404"
