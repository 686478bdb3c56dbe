"""Dispatch from the command map, stock movements and imports, the duty roster: all-or-nothing, clear errors."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from accounts.tokens import principal_for_user
from cli.context import CliContext
from cli.main import cli
from command import actions, roster, stock
from command.errors import CommandError
from command.models import DispatchPlan
from command.summary import panels
from gazetteer.errors import ImportRejected
from store.accounts import AppUser
from store.dispatch import Task, TaskEvent
from store.response import DutyRoster, ResourceSite, Stock, StockMovement, Team
from tests.factories.command import DISTRICT, Synthetic

CST = timezone(timedelta(hours=8))


def _principal(db, commander):  # type: ignore[no-untyped-def]
    return principal_for_user(db, db.get(AppUser, commander[0].id))


def _standby(db, n: int) -> list[Team]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(Team).where(Team.district_code == DISTRICT, Team.status == "standby")
                           .order_by(Team.id).limit(n)))


def _site(db) -> ResourceSite:  # type: ignore[no-untyped-def]
    return db.scalar(select(ResourceSite).where(ResourceSite.district_code == DISTRICT).order_by(ResourceSite.id))


def _n95(db, site_id: int) -> Decimal:  # type: ignore[no-untyped-def]
    return db.scalar(select(Stock.quantity).where(Stock.site_id == site_id, Stock.item_code == "N95"))


def test_dispatch_creates_task_tree_dispatches_teams_and_allocates_stock(db, synthetic: Synthetic, commander) -> None:
    actor = _principal(db, commander)
    teams, site = _standby(db, 2), _site(db)
    before = _n95(db, site.id)
    plan = DispatchPlan(lon=87.6, lat=43.8, title="测试聚集性疫情处置", type="epi", team_ids=[t.id for t in teams],
                        allocations=[{"site_id": site.id, "item_code": "N95", "quantity": 120}])
    result = actions.dispatch_plan(db, actor=actor, plan=plan, default_district="310105")
    task = db.get(Task, result.task_id)
    assert task.state == "accepted" and task.district_code == DISTRICT
    subs = list(db.scalars(select(Task).where(Task.parent_id == task.id).order_by(Task.id)))
    assert [s.assignee_team_id for s in subs] == [t.id for t in teams] and all(s.state == "issued" for s in subs)
    for t in teams:
        db.refresh(t)
        assert t.status == "dispatched"
    assert _n95(db, site.id) == before - 120
    move = db.scalar(select(StockMovement).where(StockMovement.task_id == task.id))
    assert move.kind == "allocate" and move.delta == Decimal("-120") and move.site_id == site.id
    kinds = set(db.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == task.id)))
    assert {"created", "accepted", "split"} <= kinds
    assert {c["kind"] for c in result.changes} == {"team", "stock"}


@pytest.mark.parametrize("problem", ["busy_team", "short_stock", "foreign_site"])
def test_refused_dispatch_writes_nothing(db, synthetic: Synthetic, commander, problem: str) -> None:
    actor = _principal(db, commander)
    teams, site = _standby(db, 2), _site(db)
    busy = db.scalar(select(Team).where(Team.district_code == DISTRICT, Team.status == "on_site"))
    team_ids = [teams[0].id, busy.id] if problem == "busy_team" else [t.id for t in teams]
    qty = 10**8 if problem == "short_stock" else 5
    site_id = 2**31 - 2 if problem == "foreign_site" else site.id
    plan = DispatchPlan(lon=87.6, lat=43.8, title="不应写入", team_ids=team_ids,
                        allocations=[{"site_id": site_id, "item_code": "N95", "quantity": qty}])
    tasks_before = db.scalar(select(func.count()).select_from(Task))
    with pytest.raises(CommandError) as err, db.begin_nested():
        actions.dispatch_plan(db, actor=actor, plan=plan, default_district="310105")
    expected = {"busy_team": ("team.not_available", "team_ids.1"),
                "short_stock": ("stock.insufficient", "allocations.0.quantity"),
                "foreign_site": ("site.not_found", "allocations.0.site_id")}[problem]
    assert (err.value.code, err.value.field) == expected
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Task)) == tasks_before
    assert all(db.get(Team, t.id).status == "standby" for t in teams)


def test_dispatch_api_publishes_and_refuses_second_use_of_a_team(client, services, synthetic: Synthetic,
                                                               commander, principal_token) -> None:
    token = commander[1]
    with services.session_factory() as s:
        team = _standby(s, 5)[-1]
    last = services.redis.xrevrange(f"{services.settings.redis_namespace}:events", count=1)
    body = {"lon": 87.61, "lat": 43.81, "title": "接口调度", "team_ids": [team.id]}
    resp = client.post("/api/v1/command/dispatch", json=body, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.get_json()
    events = services.redis.xrange(f"{services.settings.redis_namespace}:events",
                                   min=f"({last[0][0].decode()}" if last else "-")
    decoded = [json.loads(f[b"e"]) for _, f in events]
    assert any(e["kind"] == "team" and e["id"] == team.id and e["fields"]["status"] == "dispatched" for e in decoded)
    assert any(e["kind"] == "task" for e in decoded)
    again = client.post("/api/v1/command/dispatch", json=body, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "team_ids.0"
    bad = client.post("/api/v1/command/dispatch", json={**body, "lat": 95}, headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "lat"
    _, analyst = principal_token("district_analyst", DISTRICT)
    denied = client.post("/api/v1/command/dispatch", json=body, headers={"Authorization": f"Bearer {analyst}"})
    assert denied.status_code == 403


def test_summary_and_decision_api(client, synthetic: Synthetic, commander) -> None:
    headers = {"Authorization": f"Bearer {commander[1]}"}
    summary = client.get("/api/v1/command/summary", headers=headers).get_json()
    assert summary["district_code"] == DISTRICT and summary["teams"]["total"] == 25
    assert summary["teams"]["video_online"] == sum(1 for k in range(25) if k % 7 != 0)
    assert summary["stock_below_min"]["防护用品"] == 1  # only site 0 holds 1000 < 1500 N95
    out = client.post("/api/v1/command/decision", json={"lon": 87.62, "lat": 43.8, "k": 3, "radii_m": [1000]},
                      headers=headers)
    data = out.get_json()
    assert out.status_code == 200 and len(data["teams"]) == 3 and data["buffers"][0]["population"] > 0
    missing = client.post("/api/v1/command/decision", json={"k": 3}, headers=headers)
    assert missing.status_code == 422
    unknown = client.post("/api/v1/command/decision", json={"incident_id": 2**31 - 1}, headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "incident.not_found"


def test_panels_count_overdue_tasks(db, synthetic: Synthetic, commander) -> None:
    actor = _principal(db, commander)
    plan = DispatchPlan(lon=87.6, lat=43.8, title="逾期测试", team_ids=[_standby(db, 1)[0].id], deadline_hours=1)
    before = panels(db, district_code=DISTRICT)
    actions.dispatch_plan(db, actor=actor, plan=plan, default_district="310105")
    later = panels(db, district_code=DISTRICT, now=datetime.now(UTC) + timedelta(hours=2))
    assert later["tasks"]["open"] == before["tasks"]["open"] + 2  # the district task and its sub-task
    assert later["tasks"]["overdue"] == before["tasks"]["overdue"] + 2
    assert later["teams"]["available"] == before["teams"]["available"] - 1


# ---------------------------------------------------------------- stock

def test_stock_csv_import_is_all_or_nothing_and_idempotent(db, synthetic: Synthetic) -> None:
    site = _site(db)
    before = _n95(db, site.id)
    good = ("site_code,item_code,kind,quantity,source_id,item_name,category,unit,min_level\n"
            f"{site.code},N95,in,300,t-1,,,,2000\n{site.code},N95,out,100,t-2,,,,\n"
            f"{site.code},ORS,in,50,t-3,口服补液盐,药品,袋,20\n")
    assert stock.import_stock_csv(db, good, district_code=DISTRICT) == 3
    assert _n95(db, site.id) == before + 200
    assert db.scalar(select(Stock.min_level).where(Stock.site_id == site.id, Stock.item_code == "N95")) == 2000
    assert stock.import_stock_csv(db, good, district_code=DISTRICT) == 0  # same source_ids: skipped
    bad = (f"site_code,item_code,kind,quantity\n{site.code},N95,in,5\nNOPE,N95,in,1\n"
           f"{site.code},N95,steal,1\n{site.code},N95,out,abc\n")
    with pytest.raises(ImportRejected) as err:
        stock.import_stock_csv(db, bad, district_code=DISTRICT)
    assert [(p.row, p.field) for p in err.value.problems] == [(2, "site_code"), (3, "kind"), (4, "quantity")]
    overdraw = f"site_code,item_code,kind,quantity\n{site.code},N95,in,5\n{site.code},N95,out,{10**9}\n"
    with pytest.raises(ImportRejected) as err:
        stock.import_stock_csv(db, overdraw, district_code=DISTRICT)
    assert (err.value.problems[0].row, err.value.problems[0].code) == (2, "stock.insufficient")
    assert _n95(db, site.id) == before + 200  # neither rejected file changed anything
    assert [h["kind"] for h in stock.history(db, site_id=site.id, item_code="N95")][:2] == ["out", "in"]


def test_stock_cli_and_movement_api(tmp_path, settings, services, client, synthetic: Synthetic, commander) -> None:
    with services.session_factory() as s:
        site = _site(s)
        before = _n95(s, site.id)
    path = tmp_path / "stock.csv"
    path.write_text(f"site_code,item_code,kind,quantity\n{site.code},N95,in,40\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "stock", str(path), "--district", DISTRICT],
                                obj=CliContext(settings=settings))
    assert result.exit_code == 0, result.output
    path.write_text(f"site_code,item_code,kind,quantity\n{site.code},N95,out,-4\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "stock", str(path), "--district", DISTRICT],
                                obj=CliContext(settings=settings))
    assert result.exit_code != 0 and "row 1 [quantity]" in result.output
    headers = {"Authorization": f"Bearer {commander[1]}"}
    resp = client.post("/api/v1/command/stock/movements", headers=headers,
                       json={"site_id": site.id, "item_code": "N95", "kind": "out", "quantity": 15})
    assert resp.status_code == 201, resp.get_json()
    with services.session_factory() as s:
        assert _n95(s, site.id) == before + 40 - 15
    too_much = client.post("/api/v1/command/stock/movements", headers=headers,
                           json={"site_id": site.id, "item_code": "N95", "kind": "out", "quantity": 10**8})
    assert too_much.status_code == 409 and too_much.get_json()["error"]["field"] == "quantity"
    hist = client.get(f"/api/v1/command/sites/{site.id}/movements", headers=headers).get_json()
    assert hist["items"][0]["delta"] == -15
    assert client.get(f"/api/v1/command/sites/{2**40}/movements", headers=headers).status_code == 404


# ---------------------------------------------------------------- duty roster

def test_roster_import_encrypts_masks_and_replaces_days(db, services, synthetic: Synthetic) -> None:
    day = date(2021, 5, 1)
    data = ("day,duty_role,org_name,name,phone,shift\n"
            f"{day},总值班,测试区疾控中心,欧阳小明,13812345678,\n{day},流调值班,测试区疾控中心,张三,021-62345678,夜班\n")
    assert roster.import_roster_csv(db, data, cipher=services.cipher, district_code=DISTRICT) == 2
    raw = db.scalar(select(DutyRoster.person_name_enc).where(DutyRoster.day == day, DutyRoster.duty_role == "总值班"))
    assert "欧阳".encode() not in raw
    shown = roster.roster_for_day(db, cipher=services.cipher, district_code=DISTRICT, day=day)
    assert [(e.duty_role, e.name, e.phone, e.shift) for e in shown] == [
        ("总值班", "欧**明", "138****5678", "全天"), ("流调值班", "张*", "021*****5678", "夜班")]
    replacement = f"day,duty_role,org_name,name,phone\n{day},总值班,测试区疾控中心,李四,13900001111\n"
    assert roster.import_roster_csv(db, replacement, cipher=services.cipher, district_code=DISTRICT) == 1
    assert [e.name for e in roster.roster_for_day(db, cipher=services.cipher, district_code=DISTRICT, day=day)] == ["李*"]


def test_roster_rejects_bad_rows_naming_them(db, services, synthetic: Synthetic) -> None:
    bad = ("day,duty_role,org_name,name,phone\n2021-05-02,总值班,疾控,王五,13800000000\n"
           "2021-13-01,总值班,疾控,赵六,13800000001\n2021-05-02,,疾控,钱七,12345\n"
           "2021-05-02,总值班,疾控,王五,13800000000\n")
    with pytest.raises(ImportRejected) as err:
        roster.import_roster_csv(db, bad, cipher=services.cipher, district_code=DISTRICT)
    assert [(p.row, p.field, p.code) for p in err.value.problems] == [
        (2, "day", "value.not_date"), (3, "duty_role", "value.missing"), (3, "phone", "value.not_phone"),
        (4, "name", "value.duplicate")]
    assert db.scalar(select(func.count()).select_from(DutyRoster).where(DutyRoster.day == date(2021, 5, 2))) == 0
    with pytest.raises(ImportRejected) as err:
        roster.import_roster_csv(db, "day,name\n2021-05-02,x\n", cipher=services.cipher, district_code=DISTRICT)
    assert {p.field for p in err.value.problems} == {"duty_role", "org_name", "phone"}


def test_roster_api_and_cli(tmp_path, settings, client, synthetic: Synthetic, commander) -> None:
    today = datetime.now(CST).date()
    path = tmp_path / "roster.csv"
    path.write_text(f"\ufeffday,duty_role,org_name,name,phone\n{today},值班领导,测试区卫健委,司马光,13511112222\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "roster", str(path), "--district", DISTRICT],
                                obj=CliContext(settings=settings))
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {commander[1]}"}
    items = client.get("/api/v1/command/roster", headers=headers).get_json()["items"]
    assert [(i["duty_role"], i["name"], i["phone"]) for i in items] == [("值班领导", "司*光", "135****2222")]
    assert "司马光" not in client.get("/api/v1/command/roster", headers=headers).get_data(as_text=True)
    bad = client.post("/api/v1/command/roster/import", headers={**headers, "Content-Type": "text/csv"},
                      data=b"day,duty_role,org_name,name,phone\nyesterday,a,b,c,1\n")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "day"
    assert client.get("/api/v1/command/roster?day=2031-02-30", headers=headers).status_code == 422
