"""Issue #14 finding 6: no 5xx from hostile bodies; size limit (413) and JSON depth limit (400) on every write route.

Nested JSON up to depth 10,000 and 50 MB bodies go to every POST/PUT/PATCH route (API, ingest, city API,
task actions, Dash, login): only 4xx, and no stored row changes (row counts and checksums before/after).
"""
from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from dashboard.request_limits import MAX_JSON_DEPTH, json_depth
from tests.dashboard.robustness_support import (
    Caller,
    fingerprint,
    headers_for,
    make_city_client,
    signed_routes,
    write_routes,
)


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world

FIFTY_MB = 50 * 1024 * 1024
JSON_ROUTES = ("/api/", "/_dash-")
HYPOTHESIS = dict(derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class CountingStream(io.RawIOBase):
    """A body of `size` bytes that records how much of it was read."""

    def __init__(self, size: int, fill: bytes = b"[") -> None:
        self.size, self.fill, self.read_bytes, self.pos = size, fill, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures the stream: seeking reads nothing
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf: Any) -> int:
        n = max(0, min(len(buf), self.size - self.pos))
        buf[:n] = self.fill * n
        self.pos += n
        self.read_bytes += n
        return n


@pytest.fixture(scope="module")
def caller(app, services, world, login) -> Caller:  # type: ignore[no-untyped-def]
    key_id, priv = make_city_client(services)
    client = app.test_client()
    csrf = login(client, world.users["district_analyst@A"][0])
    caller = Caller(bearer=world.users["district_analyst@A"][1], key_id=key_id, private_key=priv, csrf=csrf)
    caller.client = client  # type: ignore[attr-defined]
    caller.relogin = lambda: setattr(caller, "csrf", login(client, world.users["district_analyst@A"][0]))  # type: ignore[attr-defined]
    return caller


@pytest.fixture(scope="module")
def routes(app, world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    a = world.a.ids
    ids = {"task_id": a["task"][0], "signal_id": a["signal"][0], "case_id": a["case"][0], "item_id": 1,
           "token_id": 1, "site_id": a["site"][0]}
    found = sorted(write_routes(app, ids), key=lambda r: r[1].startswith(("/login", "/logout")))  # sign-out last
    assert {"/api/v1/ingest/case_report", "/_dash-update-component", "/login", "/api/v1/signals"} <= \
        {p for _m, p in found}
    return found


def _sender(client: Any):  # type: ignore[no-untyped-def]
    def send(method: str, path: str, body: bytes, headers: dict[str, str], **kw: Any) -> Any:
        return client.open(path, method=method, data=body,
                           headers={"Content-Type": "application/json", **headers}, **kw)
    return send


@pytest.fixture(scope="module")
def signed(app, caller, routes) -> set[str]:  # type: ignore[no-untyped-def]
    found = signed_routes(app, caller, routes, _sender(app.test_client()))  # anonymous
    assert "/api/v1/signals" in found
    return found


def _nested(depth: int, shape: str) -> bytes:
    if shape == "array":
        return b"[" * depth + b"]" * depth
    if shape == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    if shape == "records":  # deep inside an otherwise plausible batch
        return b'{"records":[' + b"[" * depth + b"]" * depth + b"]}"
    return b"[" * depth  # unterminated: the parser would recurse before it sees the error


@given(depth=st.one_of(st.integers(1, 200), st.integers(1, 10_000), st.just(10_000)),
       shape=st.sampled_from(["array", "object", "records", "open"]))
@hsettings(max_examples=30, **HYPOTHESIS)
def test_nested_json_never_5xx_and_changes_nothing(services, caller, routes, signed, depth: int,
                                                   shape: str) -> None:
    before = fingerprint(services)
    caller.relogin()  # type: ignore[attr-defined]
    send, body = _sender(caller.client), _nested(depth, shape)  # type: ignore[attr-defined]
    for method, path in routes:
        resp = send(method, path, body, headers_for(caller, method, path, body, path in signed))
        assert resp.status_code < 500, (method, path, depth, shape, resp.status_code, resp.data[:300])
        if path.startswith(JSON_ROUTES):  # form routes (login, logout, profile) ignore a JSON body
            assert 400 <= resp.status_code < 500, (method, path, depth, shape, resp.status_code, resp.data[:300])
        if json_depth(body) > MAX_JSON_DEPTH:
            assert resp.get_json()["error"]["code"] == "json.too_deep", (method, path, resp.data[:300])
    assert fingerprint(services) == before


@given(size=st.sampled_from([FIFTY_MB, 8 * 1024 * 1024 + 1, 20 * 1024 * 1024]),
       fill=st.sampled_from([b"[", b"a", b" "]))
@hsettings(max_examples=4, **HYPOTHESIS)
def test_oversized_bodies_get_413_before_they_are_read(services, caller, routes, signed, size: int,
                                                       fill: bytes) -> None:
    before = fingerprint(services)
    caller.relogin()  # type: ignore[attr-defined]
    for method, path in routes:
        stream = CountingStream(size, fill)
        headers = headers_for(caller, method, path, b"", path in signed)  # signature is over another body: 413 first
        resp = caller.client.open(path, method=method, input_stream=stream,  # type: ignore[attr-defined]
                                  headers={"Content-Type": "application/json", "Content-Length": str(size),
                                           **headers})
        assert resp.status_code == 413, (method, path, resp.status_code)
        assert resp.get_json()["error"]["code"] == "request.too_large"
        assert stream.read_bytes == 0, (method, path, stream.read_bytes)
    assert fingerprint(services) == before


@pytest.mark.parametrize("path, content_type", [("/api/v1/ingest/case_report", "application/json"),
                                                ("/_dash-update-component", "application/json"),
                                                ("/login", "application/x-www-form-urlencoded")])
def test_chunked_bodies_are_cut_off_at_the_limit(caller, path: str, content_type: str) -> None:
    stream = CountingStream(FIFTY_MB, b"[" if "json" in content_type else b"a")
    resp = caller.client.open(path, method="POST", input_stream=stream,  # type: ignore[attr-defined]
                              headers={"Content-Type": content_type, "Transfer-Encoding": "chunked",
                                       "Authorization": f"Bearer {caller.bearer}", "X-CSRFToken": caller.csrf},
                              environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413, (path, resp.status_code, resp.data[:200])
    assert resp.get_json()["error"]["code"] == "request.too_large"
    assert stream.read_bytes <= 8 * 1024 * 1024 + 64 * 1024


def test_body_limit_is_configurable(settings, services) -> None:  # type: ignore[no-untyped-def]
    from dashboard import create_app
    from tests.conftest import make_test_settings

    small = create_app(make_test_settings("x", database_url=settings.database_url,
                                          redis_namespace=settings.redis_namespace, max_body_bytes=100_000))
    resp = small.test_client().post("/api/v1/ingest/case_report", data=b"[" + b" " * 100_000 + b"]",
                                    content_type="application/json")
    assert resp.status_code == 413
    assert small.config["MAX_CONTENT_LENGTH"] == 100_000


@pytest.mark.parametrize("body, field", [
    ({"inputs": [], "changedPropIds": []}, "output"),  # the original finding: no `output` → KeyError → 500
    ({"output": "no-such.children", "inputs": []}, "output"),
    ([1, 2, 3], "body"),
    ({"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"}, "inputs": "x"}, "inputs"),
    ({"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
      "inputs": [{"id": "url"}, {"id": "url", "property": "search"}]}, "inputs"),
    ({"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"}, "inputs": []}, "inputs"),
    ({"output": "page-content.children", "outputs": 5,
      "inputs": [{"id": "url", "property": "pathname"}, {"id": "url", "property": "search"}]}, "outputs"),
    ({"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
      "inputs": [{"id": "url", "property": "pathname"}, {"id": "url", "property": "search"}],
      "changedPropIds": [1]}, "changedPropIds"),
])
def test_malformed_dash_callback_bodies_get_400(caller, body: Any, field: str) -> None:
    resp = caller.client.post("/_dash-update-component", json=body,  # type: ignore[attr-defined]
                              headers={"X-CSRFToken": caller.csrf})
    assert resp.status_code == 400, resp.data[:300]
    assert resp.get_json()["error"] == {**resp.get_json()["error"], "code": "dash.bad_callback", "field": field}


def test_a_wellformed_dash_callback_still_answers(caller) -> None:
    from dashboard import ids

    body = {"output": f"{ids.PAGE}.children", "outputs": {"id": ids.PAGE, "property": "children"},
            "inputs": [{"id": ids.URL, "property": "pathname", "value": "/nope"},
                       {"id": ids.URL, "property": "search", "value": ""}], "changedPropIds": [f"{ids.URL}.pathname"]}
    resp = caller.client.post("/_dash-update-component", json=body,  # type: ignore[attr-defined]
                              headers={"X-CSRFToken": caller.csrf})
    assert resp.status_code == 200, resp.data[:300]


@pytest.mark.parametrize("path", ["/_dash-component-suites/x/y.js", "/_dash-component-suites/dash/nope.js",
                                  "/_dash-component-suites/os/path.py"])
def test_unknown_dash_bundles_are_404_without_a_traceback(app, path: str, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.ERROR):
        resp = app.test_client().get(path)
    assert resp.status_code == 404, resp.status_code
    assert resp.get_json()["error"]["code"] == "asset.not_found"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("data, depth", [
    (b"", 0), (b"{}", 1), (b'{"a":[1,{"b":2}]}', 3), (b'"[[[[" ', 0), (b'["\\"[[", {"k": "]]]\\\\"}]', 2),
    (b"[" * 10_000, 10_000), (b"]]]][[", 0),  # the parser stops at the first stray closer
])
def test_json_depth_ignores_strings_and_never_recurses(data: bytes, depth: int) -> None:
    assert json_depth(data) == depth
