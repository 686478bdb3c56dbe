"""`/api/v1/command/...`: the emergency command map's panels, decision support, dispatch, stock and duty roster."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accounts.principal import Principal
from command import actions, decision, roster, stock, summary
from command.errors import CommandError
from command.models import CoverageQuery, DecisionQuery, DispatchPlan, IncidentIn, MovementIn
from dashboard.api import bp
from dashboard.api.requests import (
    MAX_ID,
    caller,
    in_transaction,
    json_body,
    publish_committed,
    publish_one,
    query_args,
    read_transaction,
)
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import OperationOptions, register_operation
from geo import dates
from geo.dates import CST
from layers.coverage import coverage

TAGS = ("command 应急指挥",)
READ_ROLES = ("city_admin", "district_commander", "district_analyst", "wall_kiosk")
WRITE_ROLES = ("city_admin", "district_commander")
MAX_CSV_BYTES = 2 * 1024 * 1024


def district_of(principal: Principal) -> str:
    """The district a command action works in: the principal's, or this deployment's for city roles."""
    return principal.district_code or services().settings.district_code


def _csv_body() -> str:
    raw = request.get_data(cache=False)
    if len(raw) > MAX_CSV_BYTES:
        raise ApiError(413, "import.too_large", "CSV larger than 2 MB", "文件超过2MB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "import.not_utf8", "CSV must be UTF-8", "文件须为UTF-8编码") from None


def dispatch_now(principal: Principal, plan: DispatchPlan) -> actions.DispatchResult:
    """The dispatch flow in one transaction, then the live push (shared by the API and the page)."""
    result = in_transaction(lambda s: actions.dispatch_plan(
        s, actor=principal, plan=plan, default_district=district_of(principal), ip=request.remote_addr,
        publish=publish_one))
    publish_committed(result.changes)
    return result


# ---------------------------------------------------------------- reads

@bp.get("/command/summary")
@require_principal(*READ_ROLES)
def command_summary():
    d = district_of(caller())
    return jsonify(read_transaction(lambda s: {"district_code": d, **summary.panels(s, district_code=d)}))


@bp.post("/command/decision")
@require_principal(*READ_ROLES)
def command_decision():
    q, d = json_body(DecisionQuery), district_of(caller())

    def flow(s: Session) -> dict[str, Any]:
        if q.incident_id is None:
            assert q.lon is not None and q.lat is not None  # DecisionQuery requires them without an incident
            lon, lat = q.lon, q.lat
        else:
            lon, lat = decision.incident_point(s, incident_id=q.incident_id, district_code=d)
        travel = decision.travel_params(s, speed_kmh=q.speed_kmh, detour=q.detour)
        return decision.decide(s, lon=lon, lat=lat, district_code=d, k=q.k, radii_m=q.radii_m, reach_m=q.reach_m,
                               travel=travel, team_types=tuple(q.team_types) if q.team_types else None,
                               incident_id=q.incident_id)

    return jsonify(in_transaction(flow))


@bp.get("/command/coverage")
@require_principal(*READ_ROLES)
def command_coverage():
    q, d = query_args(CoverageQuery), district_of(caller())
    return jsonify(read_transaction(lambda s: coverage(s, district_code=d, radius_m=q.radius_m)))


@bp.get("/command/stock")
@require_principal(*READ_ROLES)
def command_stock():
    d = district_of(caller())
    return jsonify(read_transaction(lambda s: {"items": stock.levels(s, district_code=d)}))


@bp.get("/command/sites/<int:site_id>/movements")
@require_principal(*READ_ROLES)
def command_site_movements(site_id: int):
    d = district_of(caller())

    def flow(s: Session) -> dict[str, Any]:
        if site_id > MAX_ID:
            raise CommandError("not_found", "site.not_found", f"resource site {site_id} not found", "物资点不存在")
        stock.site_in_district(s, site_id=site_id, district_code=d)
        return {"site_id": site_id, "items": stock.history(s, site_id=site_id, limit=100)}

    return jsonify(in_transaction(flow))


@bp.get("/command/roster")
@require_principal(*READ_ROLES)
def command_roster():
    d, raw = district_of(caller()), request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw else datetime.now(CST).date()
    except ValueError:
        raise ApiError(422, "invalid.day", "day must be YYYY-MM-DD", "日期格式应为 YYYY-MM-DD", "day") from None
    dates.check(day, dates.QUERY, "day")  # DateRangeError → 422 invalid.date_range
    cipher = services().cipher
    if cipher is None:
        raise ApiError(503, "service.no_pii_key", "personal-data key not configured", "未配置个人信息密钥")
    entries = in_transaction(lambda s: roster.roster_for_day(s, cipher=cipher, district_code=d, day=day))
    return jsonify({"district_code": d, "day": day.isoformat(), "items": [e.__dict__ for e in entries]})


# ---------------------------------------------------------------- writes

@bp.post("/command/dispatch")
@require_principal("district_commander")
def command_dispatch():
    result = dispatch_now(caller(), json_body(DispatchPlan))
    return jsonify({"task_id": result.task_id, "subtask_ids": result.subtask_ids, "team_ids": result.team_ids,
                    "movement_ids": result.movement_ids}), 201


@bp.post("/command/incidents")
@require_principal(*WRITE_ROLES)
def command_create_incident():
    data, principal = json_body(IncidentIn), caller()
    d = district_of(principal)

    def flow(s: Session) -> dict[str, Any]:
        inc = actions.create_incident(s, actor=principal, data=data, default_district=d, ip=request.remote_addr)
        return {"id": inc.id, "title": inc.title, "district_code": inc.district_code}

    out = in_transaction(flow)
    publish_committed([{"kind": "incident", "id": out["id"], "action": "created", "district_code": d,
                        "geometry": [data.lon, data.lat], "fields": {"title": data.title}}])
    return jsonify(out), 201


@bp.post("/command/stock/movements")
@require_principal(*WRITE_ROLES)
def command_stock_movement():
    data, principal = json_body(MovementIn), caller()
    d = district_of(principal)

    def flow(s: Session) -> dict[str, Any]:
        stock.site_in_district(s, site_id=data.site_id, district_code=d)
        row = stock.apply_movement(s, stock.Movement(site_id=data.site_id, item_code=data.item_code, kind=data.kind,
                                                     quantity=Decimal(str(data.quantity)), note=data.note),
                                   actor=principal)
        assert row is not None  # None only for a repeated source_id, and this movement has none
        return {"id": row.id, "delta": float(row.delta)}

    out = in_transaction(flow)
    publish_committed([{"kind": "stock", "id": data.site_id, "district_code": d,
                        "fields": {"item_code": data.item_code}}])
    return jsonify(out), 201


@bp.post("/command/stock/import")
@require_principal(*WRITE_ROLES)
def command_stock_import():
    data, who = _csv_body(), caller()
    d = district_of(who)
    count = in_transaction(lambda s: stock.import_stock_csv(s, data, district_code=d, actor=who))
    return jsonify({"imported": count}), 201


@bp.post("/command/roster/import")
@require_principal(*WRITE_ROLES)
def command_roster_import():
    data, who = _csv_body(), caller()
    d = district_of(who)
    cipher = services().cipher
    if cipher is None:
        raise ApiError(503, "service.no_pii_key", "personal-data key not configured", "未配置个人信息密钥")
    count = in_transaction(lambda s: roster.import_roster_csv(s, data, cipher=cipher, district_code=d, actor=who))
    return jsonify({"imported": count}), 201


_P = "/api/v1/command"
# path, method, summary, request model, options (the responses are not models)
_ROUTES: list[tuple[str, str, str, type[BaseModel] | None, OperationOptions]] = [
    (f"{_P}/summary", "get", "指挥面板：队伍、视频连通率、低于下限的物资、任务", None, {}),
    (f"{_P}/decision", "post", "辅助决策：最近可用队伍与预计到达时间、可达物资、发热门诊、缓冲区人口", DecisionQuery, {}),
    (f"{_P}/coverage", "get", "发热门诊服务覆盖与各街道覆盖外人口", None, {"query_model": CoverageQuery}),
    (f"{_P}/stock", "get", "各物资点库存与下限", None, {}),
    (f"{_P}/sites/<int:site_id>/movements", "get", "物资点出入库记录", None, {}),
    (f"{_P}/roster", "get", "当日应急值守（姓名、电话脱敏）", None, {}),
    (f"{_P}/dispatch", "post", "一键调度：生成任务与子任务、队伍出动、物资调拨", DispatchPlan, {"status": 201}),
    (f"{_P}/incidents", "post", "新建突发事件", IncidentIn, {"status": 201}),
    (f"{_P}/stock/movements", "post", "物资入库 / 出库", MovementIn, {"status": 201}),
    (f"{_P}/stock/import", "post", "导入出入库 CSV（全部成功或全部不写入）", None,
     {"status": 201, "description": "text/csv body: site_code,item_code,kind,quantity[,source_id,item_name,category,unit,"
                                    "min_level,time,note]"}),
    (f"{_P}/roster/import", "post", "导入值班表 CSV（覆盖文件所含日期）", None,
     {"status": 201, "description": "text/csv body: day,duty_role,org_name,name,phone[,shift]"}),
]
for _path, _method, _summary, _req, _extra in _ROUTES:
    register_operation(_path, _method, _summary, request_model=_req, tags=TAGS, **_extra)
