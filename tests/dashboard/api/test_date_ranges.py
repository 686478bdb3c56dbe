"""Issue #14 finding 2: every date that enters is range-checked (422 naming the field), and a row that
is already odd (a task deadline in year 0, 'infinity', …) never takes a list, the overdue job, the
briefing or the layer API down. Also: a `javascript:` attachment URL is refused."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from accounts.request_signing import sign_request
from dispatch import service
from dispatch.models import TaskCreate, TaskQuery
from dispatch.scheduled import check_overdue
from geo import dates
from ingest.schemas import parse_record
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from tests.factories.scope import World
from tests.factories.users import make_user


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world

REF = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: every window below is relative to it
ODD_DEADLINES = ("0001-01-01 00:00:00+14", "infinity", "-infinity", "9999-12-31 23:59:59+00", "0001-01-01 00:00:00+00")


def _task(deadline: Any, **extra: Any) -> dict[str, Any]:
    return {"title": "排查", "type": "screening", "deadline": deadline, **extra}


def _auth(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.users[who][1]}"}


def _error(resp: Any) -> dict[str, Any]:
    body = resp.get_json()
    assert body is not None and "error" in body, resp.data[:300]
    return body["error"]


# ---------------------------------------------------------------- the windows (explicit reference time)

@pytest.mark.parametrize("deadline, ok", [
    (REF - timedelta(hours=23), True), (REF + timedelta(days=5 * 365), True),
    (REF - timedelta(days=2), False), (REF + timedelta(days=6 * 365), False),
    (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), False),
    (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-12))), False),
])
def test_deadline_window_is_now_minus_a_day_to_five_years(deadline: datetime, ok: bool) -> None:
    body = _task(deadline.isoformat())
    if ok:
        assert TaskCreate.model_validate(body, context={"now": REF}).deadline == deadline
        return
    with pytest.raises(ValidationError) as exc:
        TaskCreate.model_validate(body, context={"now": REF})
    err = exc.value.errors()[0]
    assert err["type"] == "date_range" and err["loc"] == ("deadline",) and "message_zh" in err["ctx"]


def test_frozen_now_moves_every_window() -> None:
    with dates.frozen_now(REF):
        assert dates.PAST.day_bounds() == (date(1900, 1, 1), date(2026, 3, 2))  # up to tomorrow in Shanghai
        assert dates.QUERY.day_bounds() == (date(1900, 1, 1), date(2027, 3, 2))
        assert dates.check(date(2026, 3, 2), dates.PAST, "onset_date") == date(2026, 3, 2)
        with pytest.raises(dates.DateRangeError) as exc:
            dates.check(date(2026, 3, 3), dates.PAST, "onset_date")
        assert exc.value.field == "onset_date" and exc.value.code == "invalid.date_range"
        with pytest.raises(dates.DateRangeError):
            dates.check(date(1899, 12, 31), dates.PAST, "onset_date")


@pytest.mark.parametrize("raw, code", [("0001-01-01", "invalid.date_range"), ("9999-12-31", "invalid.date_range"),
                                       ("10000-01-01", "invalid.date_format"), ("2027-02-29", "invalid.date_format"),
                                       ("2026-1-5", "invalid.date_format")])
def test_query_dates_are_parsed_and_range_checked(raw: str, code: str) -> None:
    with pytest.raises(dates.DateRangeError) as exc:
        dates.parse_date(raw, "until", now=REF)
    assert (exc.value.code, exc.value.field) == (code, "until")
    assert dates.parse_date("", "until", now=REF) is None
    assert dates.parse_date("2027-03-02", "until", now=REF) == date(2027, 3, 2)


# ---------------------------------------------------------------- the reproduction: REST and the city API

def test_year_zero_deadline_is_refused_with_422_naming_the_field(client, world: World) -> None:  # type: ignore[no-untyped-def]
    with client.application.extensions["onemap"].session_factory() as db:
        before = db.scalar(text("SELECT count(*) FROM task"))
    resp = client.post("/api/v1/dispatch/tasks", json=_task("0001-01-01T00:00:00+14:00"),
                       headers=_auth(world, "district_commander@A"))
    assert resp.status_code == 422
    err = _error(resp)
    assert (err["code"], err["field"]) == ("invalid.date_range", "deadline") and err["message_zh"]
    with client.application.extensions["onemap"].session_factory() as db:
        assert db.scalar(text("SELECT count(*) FROM task")) == before
    listing = client.get("/api/v1/dispatch/tasks", headers=_auth(world, "district_commander@A"))
    assert listing.status_code == 200


def test_a_deadline_tomorrow_is_still_accepted(client, world: World) -> None:  # type: ignore[no-untyped-def]
    deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = client.post("/api/v1/dispatch/tasks", json=_task(deadline), headers=_auth(world, "district_commander@A"))
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x</b>",
                                 "//evil.example/x", "vbscript:x", "file:///etc/passwd"])
def test_attachment_urls_must_be_http_or_relative(client, world: World, url: str) -> None:  # type: ignore[no-untyped-def]
    deadline = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    resp = client.post("/api/v1/dispatch/tasks", headers=_auth(world, "district_commander@A"),
                       json=_task(deadline, attachments=[{"name": "a.pdf", "url": url}]))
    assert resp.status_code == 422
    assert _error(resp)["field"] == "attachments.0.url"


@pytest.fixture(scope="module")
def city_key(services) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(key id, private key) of a registered city platform client."""
    priv, pub = generate_keypair()
    user, _ = make_user(services, "city_api", "310000")
    key_id = f"city-dates-{uuid.uuid4().hex[:6]}"
    with services.session_factory() as db:
        db.add(ApiClient(key_id=key_id, name="市级平台", user_id=user.id, sm2_public_key=pub))
        db.commit()
    return key_id, priv


def signed_post(client: Any, key: tuple[str, str], path: str, payload: Any) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = sign_request(private_key_hex=key[1], key_id=key[0], method="POST", path=path, body=body)
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("path, payload, field", [
    ("/api/v1/dispatch/tasks", _task("0001-01-01T00:00:00+14:00", city_task_id="C-DATES-1"), "deadline"),
    ("/api/v1/signals", {"signal_id": "CS-DATES-1", "district_code": "310105", "title": "t",
                         "window_start": "0001-01-01"}, "window_start"),
    ("/api/v1/signals", {"signal_id": "CS-DATES-2", "district_code": "310105", "title": "t",
                         "issued_at": "9999-12-31T23:59:59-12:00"}, "issued_at"),
])
def test_city_api_dates_are_range_checked(client, city_key, path: str, payload: Any, field: str) -> None:  # type: ignore[no-untyped-def]
    resp = signed_post(client, city_key, path, payload)
    assert resp.status_code == 422, resp.get_json()
    assert (_error(resp)["code"], _error(resp)["field"]) == ("invalid.date_range", field)


# ---------------------------------------------------------------- query strings that used to answer 500

@pytest.mark.parametrize("path, field", [
    ("/api/v1/monitor/summary?since={v}", "since"), ("/api/v1/monitor/summary?until={v}", "until"),
    ("/api/v1/layers/incidence?until={v}", "until"), ("/api/v1/signals?since={v}", "since"),
    ("/api/v1/forecast/rt?disease=SCOPE-D&as_of={v}", "as_of"), ("/api/v1/forecast/burden?disease=SCOPE-D&as_of={v}", "as_of"),
    ("/api/v1/command/roster?day={v}", "day"),
])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_extreme_query_dates_are_422_naming_the_field(client, world: World, path: str, field: str,  # type: ignore[no-untyped-def]
                                                      value: str) -> None:
    resp = client.get(path.format(v=value), headers=_auth(world, "district_commander@A"))
    assert resp.status_code == 422, (path, resp.data[:300])
    err = _error(resp)
    assert (err["code"], err["field"]) == ("invalid.date_range", field) and err["message_zh"]


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "10000-01-01"])
def test_briefing_refuses_extreme_dates_naming_the_field(client, world: World, login, value: str) -> None:  # type: ignore[no-untyped-def]
    login(client, world.users["district_commander@A"][0])
    resp = client.get(f"/reports/briefing?date={value}")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "date" in page or "日期" in page  # the field, by name or by its Chinese label


def test_ingest_refuses_a_year_zero_sample_time_with_its_field() -> None:
    rec, errors = parse_record("lab_result", {"institution_code": "X", "record_id": "R1", "sample_id": "S1",
                                              "pathogen": "p", "result": "pending",
                                              "sample_time": "0001-01-01T00:00:00+14:00"})
    assert rec is None and [(e.field, e.code) for e in errors] == [("sample_time", "invalid.date_range")]
    assert "超出" in errors[0].message_zh


def test_case_report_onset_before_1900_is_refused() -> None:
    rec, errors = parse_record("case_report", {
        "institution_code": "X", "record_id": "R1", "disease_code": "D", "onset_date": "1899-12-31",
        "diagnosis_time": "2020-01-01T08:00:00", "report_time": "2020-01-01T09:00:00"})
    assert rec is None and ("onset_date", "invalid.date_range") in [(e.field, e.code) for e in errors]


# ---------------------------------------------------------------- odd rows already stored are tolerated

@pytest.fixture
def odd_tasks(services, world: World):  # type: ignore[no-untyped-def]
    """Tasks of district A whose deadlines no check would accept today, written straight with SQL."""
    ids: list[int] = []
    with services.engine.begin() as conn:
        for i, raw in enumerate(ODD_DEADLINES):
            ids.append(conn.execute(text(
                "INSERT INTO task (title, type, priority, deadline, state, progress, district_code, counts, "
                "attachments, escalation_level) VALUES (:t, 'other', 2, CAST(:d AS timestamptz), 'issued', 0, :dc, "
                "'{}', CAST(:att AS jsonb), 0) RETURNING id"),
                {"t": f"odd-{i}", "d": raw, "dc": world.a.code,
                 "att": json.dumps([{"name": "x", "url": "javascript:alert(1)"}])}).scalar_one())
    yield ids
    with services.engine.begin() as conn:
        conn.execute(text("DELETE FROM task_event WHERE task_id = ANY(:ids)"), {"ids": ids})
        conn.execute(text("DELETE FROM task WHERE id = ANY(:ids)"), {"ids": ids})


def test_odd_stored_deadlines_never_take_a_list_down(client, services, world: World, login,  # type: ignore[no-untyped-def]
                                                     odd_tasks: list[int]) -> None:
    commander = _auth(world, "district_commander@A")
    listing = client.get("/api/v1/dispatch/tasks?limit=500", headers=commander)
    assert listing.status_code == 200, listing.data[:300]
    got = {t["id"]: t for t in listing.get_json()["items"]}
    assert set(odd_tasks) <= set(got)
    assert got[odd_tasks[0]]["overdue"] is True and got[odd_tasks[1]]["overdue"] is False  # year 0 / infinity
    for path in ("/api/v1/dispatch/tasks?overdue=true", "/api/v1/dispatch/tasks?overdue=false",
                 f"/api/v1/dispatch/tasks/{odd_tasks[0]}", f"/api/v1/dispatch/tasks/{odd_tasks[1]}/events",
                 "/api/v1/layers/tasks", "/api/v1/command/summary"):
        assert client.get(path, headers=commander).status_code == 200, path
    login(client, world.users["district_commander@A"][0])
    assert client.get("/reports/briefing").status_code < 500  # 404 here: this package's database has no regions
    with services.session_factory() as db:  # the Dash task board reads through the same service
        actor = _principal(db, world)
        total, rows = service.list_tasks(db, actor=actor, query=TaskQuery(limit=500))
        assert {t["id"] for t in service.task_dicts(db, rows)} >= set(odd_tasks)


def test_overdue_job_survives_odd_deadlines(services, odd_tasks: list[int]) -> None:  # type: ignore[no-untyped-def]
    with services.session_factory() as db:
        result = check_overdue(db, datetime.now(UTC))
        assert odd_tasks[0] in result.reminded and odd_tasks[4] in result.reminded
        assert odd_tasks[1] not in result.reminded  # 'infinity' is never overdue
        db.rollback()


def test_reading_odd_rows_changes_nothing(client, services, world: World, odd_tasks: list[int]) -> None:  # type: ignore[no-untyped-def]
    query = text("SELECT id, deadline::text FROM task WHERE id = ANY(:ids) ORDER BY id")
    with services.engine.connect() as conn:
        before = conn.execute(query, {"ids": odd_tasks}).all()
    assert client.get("/api/v1/dispatch/tasks", headers=_auth(world, "district_commander@A")).status_code == 200
    with services.engine.connect() as conn:
        assert conn.execute(query, {"ids": odd_tasks}).all() == before


def _principal(db: Any, world: World) -> Any:
    from accounts.tokens import principal_for_user
    from store.accounts import AppUser

    return principal_for_user(db, db.get(AppUser, world.users["district_commander@A"][0].id))
