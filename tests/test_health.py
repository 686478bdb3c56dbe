"""The app factory, health check and pages come up against real PostGIS and Redis."""
from __future__ import annotations

from tests.conftest import make_test_settings


def test_healthz_reports_postgis_and_redis(client, principal_token) -> None:  # type: ignore[no-untyped-def]
    _, token = principal_token("district_analyst")  # versions only for signed-in callers (issue #14)
    resp = client.get("/healthz", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["checks"]["postgis"].startswith("ok (PostGIS 3")
    assert body["checks"]["redis"] == "ok"


def test_healthz_names_what_is_down(settings) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app

    # Redis unreachable: REDIS_URL, and with Sentinels (`make test-ha`) the Sentinels too
    broken = make_test_settings("unused", database_url=settings.database_url, redis_url="redis://127.0.0.1:1/0",
                                redis_sentinels="127.0.0.1:1" if settings.redis_sentinels else "")
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


def test_bundles_are_served_while_another_thread_is_still_setting_dash_up(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Dash marks its first-request setup done before it registers its bundle paths, so under gunicorn a
    second thread of a fresh worker validated against an empty registry and answered 500 (a blank wall).
    Here the setup is skipped altogether, as that second thread sees it."""
    import dash
    import dash._dash_renderer as renderer

    from dashboard import create_app

    monkeypatch.setattr(dash.Dash, "_setup_server", lambda self: None)
    react_dom = next(p for p in renderer._js_dist_dependencies[0]["relative_package_path"]["prod"] if "react-dom" in p)
    client = create_app(settings).test_client()
    resp = client.get(f"/_dash-component-suites/dash/{react_dom}")
    assert resp.status_code == 200 and len(resp.data) > 10_000
