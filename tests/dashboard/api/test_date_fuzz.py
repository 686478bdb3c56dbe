"""Issue #14 acceptance: extreme dates in every date/datetime parameter of the API (bodies and query
strings), the briefing page, the Dash page router, CSV imports and the signed city API answer 4xx —
never 5xx — and nothing already accepted is lost or changed (row counts and checksums of every table).

hypothesis is derandomized, so the same values are tried on every run.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.dashboard.api.test_date_ranges import city_key, signed_post  # noqa: F401  (fixture)
from tests.factories.scope import World


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world

FIXED = ["0001-01-01", "9999-12-31", "10000-01-01", "0000-12-31", "2027-02-29", "", "1899-12-31",
         "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-12:00", "9999-12-31T23:59:59-12:00",
         "9999-12-31T23:59:59+14:00", "10000-01-01T00:00:00Z", "2027-02-29T00:00:00Z", "0001-01-01T00:00:00",
         "1899-12-31T00:00:00+23:59", "infinity", "-infinity"]
# Volatile by design (audit trail, login bookkeeping): not part of "accepted data".
VOLATILE = ("audit", "api_token", "app_user", "alembic_version", "spatial_ref_sys", "login")
FAR_YEARS = st.one_of(st.integers(1, 1899), st.integers(datetime.now(UTC).year + 6, 9999))


@st.composite
def extreme(draw: Any) -> str:
    """A value no window accepts: a fixed extreme, or a day/time far outside, with offsets up to ±14 h."""
    if draw(st.booleans()):
        return draw(st.sampled_from(FIXED))
    day = date(draw(FAR_YEARS), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    if draw(st.booleans()):
        return day.isoformat()
    hours = draw(st.integers(-12, 14))
    return f"{day.isoformat()}T{draw(st.integers(0, 23)):02d}:59:59{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"


FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=12,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

QUERY_TARGETS = [
    "/api/v1/layers/incidence?since={v}", "/api/v1/layers/cases?until={v}", "/api/v1/layers/tasks?since={v}",
    "/api/v1/monitor/summary?since={v}", "/api/v1/monitor/summary?until={v}", "/api/v1/signals?since={v}",
    "/api/v1/signals?until={v}", "/api/v1/forecast/rt?disease=SCOPE-D&as_of={v}",
    "/api/v1/forecast/burden?disease=SCOPE-D&as_of={v}", "/api/v1/command/roster?day={v}",
    "/api/v1/dispatch/tasks?overdue=true&q={v}",
]

_CASE = {"institution_code": "ZZ-I", "record_id": "FZ1", "disease_code": "SCOPE-D", "onset_date": "2020-01-01",
         "diagnosis_time": "2020-01-02T08:00:00", "report_time": "2020-01-02T09:00:00"}
INGEST_TARGETS = [
    ("case_report", _CASE, "onset_date"), ("case_report", _CASE, "diagnosis_time"),
    ("case_report", _CASE, "report_time"), ("case_report", {**_CASE, "outcome": "died"}, "death_date"),
    ("lab_result", {"institution_code": "ZZ-I", "record_id": "FZ2", "sample_id": "S", "pathogen": "p",
                    "result": "pending", "sample_time": "2020-01-01T08:00:00"}, "sample_time"),
    ("syndromic_count", {"institution_code": "ZZ-I", "record_id": "FZ3", "day": "2020-01-01", "syndrome": "fever",
                         "visits": 1, "cases": 0}, "day"),
    ("team_position", {"team_code": "ZZ-T", "record_id": "FZ4", "time": "2020-01-01T08:00:00", "lon": 121.4,
                       "lat": 31.2}, "time"),
    ("stock_change", {"site_code": "ZZ-S", "record_id": "FZ5", "item_code": "I", "kind": "in", "quantity": 1,
                      "time": "2020-01-01T08:00:00"}, "time"),
    ("school_absence", {"school_code": "ZZ-SC", "day": "2020-01-06", "enrolled": 10, "absent": 0,
                        "absent_ill": 0}, "day"),
    ("weather_daily", {"district_code": "310105", "day": "2020-01-01", "temp_mean": 10}, "day"),
    ("drug_sales", {"region_code": "310105001", "day": "2020-01-01", "drug_group": "antipyretic", "units": 1}, "day"),
    ("opinion_item", {"item_id": "FZ6", "published_at": "2020-01-01T08:00:00", "source": "s", "title": "t"},
     "published_at"),
]


def _snapshot(services: Any) -> dict[str, tuple[int, str]]:
    """Row count and an md5 over every row of every table that holds accepted data."""
    out: dict[str, tuple[int, str]] = {}
    with services.engine.connect() as conn:
        tables = conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                                   "AND table_type = 'BASE TABLE'")).scalars().all()
        for name in sorted(t for t in tables if not any(v in t for v in VOLATILE)):
            row = conn.execute(text(f'SELECT count(*), coalesce(md5(string_agg(md5(t::text), \'\' ORDER BY '
                                    f'md5(t::text))), \'\') FROM "{name}" t')).one()
            out[name] = (row[0], row[1])
    return out


@pytest.fixture(scope="module")
def unchanged(services, world, city_key):  # type: ignore[no-untyped-def]
    """Asserts after the module that no table holding accepted data gained, lost or changed a row
    (the fixtures' own users, records and city client exist before the first snapshot)."""
    before = _snapshot(services)
    yield
    after = _snapshot(services)
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, changed


def _real(raw: str, world: World) -> str:
    """Placeholders → the codes of district A's institution, team and site, so only the date is wrong."""
    m = world.a.marker
    return raw.replace("ZZ-I", f"{m}-INST1").replace("ZZ-T", f"{m}-TEAM").replace("ZZ-S", f"{m}-SITE")


def _auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.users['district_commander@A'][1]}"}


def _refused(resp: Any, what: str) -> None:
    assert 400 <= resp.status_code < 500, (what, resp.status_code, resp.data[:300])


@pytest.mark.parametrize("target", QUERY_TARGETS)
def test_query_strings(client, world: World, unchanged, target: str) -> None:  # type: ignore[no-untyped-def]
    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        resp = client.get(target.format(v=value), headers=_auth(world))
        if "q=" in target:  # free text, not a date: must simply not fail
            assert resp.status_code == 200
            return
        _refused(resp, target)

    run()


@pytest.mark.parametrize("kind, base, field", INGEST_TARGETS, ids=[f"{k}.{f}" for k, _, f in INGEST_TARGETS])
def test_ingest_batches(client, world: World, unchanged, kind: str, base: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        record = json.loads(_real(json.dumps({**base, field: value}), world))
        resp = client.post(f"/api/v1/ingest/{kind}", json={"records": [record]}, headers=_auth(world))
        _refused(resp, (kind, field, value))
        errors = resp.get_json()["results"][0]["errors"]
        assert field in {e["field"] for e in errors}, errors

    run()


def _task_bodies(world: World) -> list[tuple[str, Callable[[str], Any], str]]:
    task_id = world.a.ids["task"][0]
    return [
        ("/api/v1/dispatch/tasks", lambda v: {"title": "t", "type": "epi", "deadline": v}, "deadline"),
        (f"/api/v1/dispatch/tasks/{task_id}/split",
         lambda v: {"subtasks": [{"title": "t", "deadline": v, "assignee_team_id": 1}]}, "subtasks.0.deadline"),
    ]


@pytest.mark.parametrize("which", [0, 1])
def test_task_bodies(client, world: World, unchanged, which: int) -> None:  # type: ignore[no-untyped-def]
    path, body, field = _task_bodies(world)[which]

    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        resp = client.post(path, json=body(value), headers=_auth(world))
        _refused(resp, (path, value))
        assert resp.get_json()["error"]["field"] == field

    run()


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/dispatch/tasks", lambda v: {"city_task_id": "FZ-C1", "title": "t", "type": "epi", "deadline": v},
     "deadline"),
    ("/api/v1/signals", lambda v: {"signal_id": "FZ-S1", "district_code": "310105", "title": "t",
                                   "window_start": v}, "window_start"),
    ("/api/v1/signals", lambda v: {"signal_id": "FZ-S2", "district_code": "310105", "title": "t",
                                   "window_end": v}, "window_end"),
    ("/api/v1/signals", lambda v: {"signal_id": "FZ-S3", "district_code": "310105", "title": "t",
                                   "issued_at": v}, "issued_at"),
], ids=["task.deadline", "signal.window_start", "signal.window_end", "signal.issued_at"])
def test_signed_city_api(client, city_key, unchanged, path: str, body: Callable[[str], Any], field: str) -> None:  # type: ignore[no-untyped-def]
    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        resp = signed_post(client, city_key, path, body(value))
        _refused(resp, (path, value))
        if value:  # an empty optional date means "none given"; then another field may be the problem
            assert resp.get_json()["error"]["field"] == field

    run()


@pytest.mark.parametrize("path, csv_line", [
    ("/api/v1/command/stock/import", "site_code,item_code,kind,quantity,time\nZZ-S,I,in,1,{v}\n"),
    ("/api/v1/command/roster/import", "day,duty_role,org_name,name,phone\n{v},值班,疾控,张三,13800000000\n"),
])
def test_csv_imports(client, world: World, unchanged, path: str, csv_line: str) -> None:  # type: ignore[no-untyped-def]
    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        resp = client.post(path, data=_real(csv_line.format(v=value), world).encode(), headers={**_auth(world),
                                                                                "Content-Type": "text/csv"})
        _refused(resp, (path, value))

    run()


def test_briefing_and_dash_router(client, world: World, login, unchanged) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, world.users["district_commander@A"][0])

    @FUZZ
    @given(value=extreme())
    def run(value: str) -> None:
        _refused(client.get(f"/reports/briefing?date={value}"), ("briefing", value))
        route = {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
                 "inputs": [{"id": "url", "property": "pathname", "value": "/monitor"},
                            {"id": "url", "property": "search", "value": f"?until={value}"}],
                 "changedPropIds": ["url.search"]}
        resp = client.post("/_dash-update-component", data=json.dumps(route),
                           headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
        assert resp.status_code < 500, (value, resp.data[:300])  # the page opens on today instead

    run()
