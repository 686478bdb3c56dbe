"""应急指挥一张图: the page's callbacks (layout in command_layout, rendering in command_view)."""
from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError

from accounts.principal import Principal
from command import actions, decision, roster, stock, summary
from command.errors import CommandError
from command.models import DispatchPlan, IncidentIn
from dashboard import markup
from dashboard.api.command import WRITE_ROLES, dispatch_now, district_of
from dashboard.api.requests import in_transaction, publish_committed
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.pages import command_fieldwork, exchange_view
from dashboard.pages import command_view as view
from dashboard.pages.command_access import reader
from dashboard.pages.command_layout import MAP_LAYERS, TITLE, layout
from exchange import kpis as exchange_kpis
from gazetteer.errors import ImportRejected
from geo import beijing
from geo.dates import CST
from geo.geojson import feature, feature_collection
from layers.assists import assists_geojson
from layers.base import today_cst
from layers.coverage import coverage_geojson
from layers.incidents import incidents_geojson
from layers.resources import resources_geojson
from layers.tasks import tasks_geojson
from layers.teams import teams_geojson

__all__ = ["PATH", "TITLE", "MAP_LAYERS", "layout", "register"]

PATH = "/command"
RADII: list[float] = [500, 1000, 3000]
EMPTY = feature_collection([])



# ---------------------------------------------------------------- callbacks

def register(dash_app: Dash) -> None:
    """Callbacks of the command page, bound to this Dash instance."""
    _register_layers(dash_app)
    _register_panels(dash_app)
    _register_exchange_line(dash_app)
    _register_coverage(dash_app)
    _register_decision(dash_app)
    _register_roster(dash_app)
    _register_stock(dash_app)
    command_fieldwork.register(dash_app)


def _register_layers(dash_app: Dash) -> None:
    """The map's layers (teams, tracks, sites, incidents, tasks, 协查), refreshed by poll, live event or an action."""

    @dash_app.callback(
        Output("cmd-teams", "data"), Output("cmd-tracks", "data"), Output("cmd-resources", "data"),
        Output("cmd-incidents", "data"), Output("cmd-tasks", "data"), Output("cmd-assists", "data"), Output("cmd-sync", "data"),
        Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"))
    def refresh_layers(_tick: Any, _live: Any, _refresh: Any) -> tuple[Any, ...]:
        principal = reader()
        with services().session_factory() as s:
            teams = teams_geojson(s, principal)
            for f in teams["features"]:
                p = f["properties"]
                p["tooltip"] = markup.tooltip(None, (p["name"], p["status_zh"]))
            sites = view.with_tooltips(resources_geojson(s, principal), view.site_tooltip)
            incidents = view.with_tooltips(incidents_geojson(s, principal), lambda p: markup.tooltip(p["title"], p["status_zh"]))
            tasks = view.with_tooltips(tasks_geojson(s, district_code=principal.district_code), view.task_tooltip)
            assists = view.with_popups(assists_geojson(s, district_code=principal.district_code), view.assist_popup)
        return teams, view.tracks(teams), sites, incidents, tasks, assists, datetime.now().astimezone().isoformat()

    dash_app.clientside_callback(ClientsideFunction("onemap_command", "markSynced"),
                                 Output("cmd-ages", "className"), Input("cmd-sync", "data"))
    # Fit the district once the first data arrive: the wall's layout has its final size by then
    # (the map's initial bounds were fitted to a smaller container on 4K screens).
    dash_app.clientside_callback(ClientsideFunction("onemap_command", "fitHome"),
                                 Output("cmd-map", "viewport"), Input("cmd-sync", "data"), State("cmd-home", "data"))


def _register_panels(dash_app: Dash) -> None:
    """The side panels: team and task KPIs, video, the panels below the map and today's duty roster."""

    @dash_app.callback(
        Output("cmd-team-kpis", "children"), Output("cmd-video", "children"), Output("cmd-task-kpis", "children"),
        Output("cmd-below", "children"), Output("cmd-roster", "children"),
        Input("cmd-poll", "n_intervals"), Input("cmd-live", "n_clicks"), Input("cmd-refresh", "data"))
    def refresh_panels(_tick: Any, _live: Any, _refresh: Any) -> tuple[Any, ...]:
        principal = reader()
        district = district_of(principal)
        cipher = services().cipher
        with services().session_factory() as s:
            panel = summary.panels(s, district_code=district)
            duty = roster.roster_for_day(s, cipher=cipher, district_code=district, day=today_cst()) if cipher else []
        return (*view.panels(panel), view.roster_table(duty))


def _register_exchange_line(dash_app: Dash) -> None:
    """One line on the state of the exchange with the city (task list 8.2), on the page and the wall."""

    @dash_app.callback(Output("cmd-exchange", "children"), Output("cmd-exchange", "className"),
                       Input("cmd-poll", "n_intervals"))
    def refresh_exchange(_tick: Any) -> tuple[str, str]:
        now = datetime.now(UTC)
        until = now.astimezone(CST).date()
        with services().session_factory() as s:
            answer = exchange_kpis.summary(s, since=until, until=until, now=now,
                                           deadline=timedelta(hours=services().settings.exchange_deadline_hours))
        return exchange_view.wall_line(answer), "cmd-exchange" + (" bad" if answer["stale"] else "")


def _register_coverage(dash_app: Dash) -> None:
    """The service area of the resource sites within the chosen radius, and who lives outside it."""

    @dash_app.callback(
        Output("cmd-coverage", "data"), Output("cmd-service", "data"), Output("cmd-coverage-table", "children"),
        Input("cmd-radius", "value"))
    def show_coverage(radius: int) -> tuple[Any, ...]:
        principal = reader()
        with services().session_factory() as s:
            fc = coverage_geojson(s, principal, radius_m=float(radius or 3000), district_code=district_of(principal))
        service_area = feature(fc["service_area"], {}) if fc["service_area"] else EMPTY
        for f in fc["features"]:
            p = f["properties"]
            p["tooltip"] = markup.tooltip(None, f"{p['name']}：覆盖外 {p['outside']:,} 人（{p['outside_share'] * 100:.1f}%）")
        return fc, service_area, view.coverage_table(fc)


def _picked_point(map_click: Any, incident_click: Any) -> tuple[Any, Any, int | None]:
    """Longitude, latitude and incident id of the incident or map point clicked."""
    if ctx.triggered_id == "cmd-incidents" and incident_click:
        p = incident_click.get("properties", {})
        return p.get("lon"), p.get("lat"), p["id"] if p.get("source") == "incident" else None
    latlng = (map_click or {}).get("latlng")
    if not latlng:
        raise PreventUpdate
    lat, lon = (latlng["lat"], latlng["lng"]) if isinstance(latlng, dict) else latlng
    return lon, lat, None


def _new_incident(principal: Principal, point: dict[str, Any], title: Any) -> tuple[Any, ...]:
    """Open an incident at the picked point."""
    if principal.role not in WRITE_ROLES:
        return "当前角色无权新建事件", no_update
    data = IncidentIn(title=title or "", lon=point["lon"], lat=point["lat"])
    inc = in_transaction(lambda s: actions.create_incident(s, actor=principal, data=data, default_district=district_of(principal)))
    publish_committed([{"kind": "incident", "id": inc.id, "action": "created",
                      "district_code": inc.district_code, "geometry": [data.lon, data.lat]}])
    return f"已新建事件 #{inc.id}：{inc.title}", datetime.now().timestamp()


def _dispatch(principal: Principal, point: dict[str, Any], team_ids: Any, alloc: Any, qty: Any, title: Any,
              kind: Any, hours: Any) -> tuple[Any, ...]:
    """Send the chosen teams and stock to the picked incident or point."""
    if principal.role != "district_commander":
        return "只有区级应急指挥人员可以调度", no_update
    allocations = [{"site_id": int(v.split("|")[0]), "item_code": v.split("|")[1], "quantity": qty or 0}
                   for v in (alloc or [])]
    plan = DispatchPlan(title=title or "", type=kind or "epi", deadline_hours=int(hours or 24),
                        team_ids=team_ids or [], allocations=allocations,
                        incident_id=point.get("incident_id"),
                        lon=None if point.get("incident_id") else point["lon"],
                        lat=None if point.get("incident_id") else point["lat"])
    result = dispatch_now(principal, plan)
    return (f"已调度：任务 #{result.task_id}，{len(result.team_ids)} 支队伍出动，{len(result.movement_ids)} 项物资调拨",
            datetime.now().timestamp())


def _register_decision(dash_app: Dash) -> None:
    """Drill-down from a map or incident click to the decision panel, and the actions taken from it."""

    @dash_app.callback(
        Output("cmd-decision-panel", "children"), Output("cmd-decision", "data"), Output("cmd-point", "data"),
        Output("cmd-team-pick", "options"), Output("cmd-team-pick", "value"), Output("cmd-alloc", "options"),
        Output("cmd-alloc", "value"),
        Input("cmd-map", "clickData"), Input("cmd-incidents", "clickData"), prevent_initial_call=True)
    def decide(map_click: Any, incident_click: Any) -> tuple[Any, ...]:
        principal = reader()
        district = district_of(principal)
        lon, lat, incident_id = _picked_point(map_click, incident_click)
        with services().session_factory() as s:
            travel = decision.travel_params(s)
            d = decision.decide(s, lon=float(lon), lat=float(lat), district_code=district, radii_m=RADII, reach_m=5000,
                                travel=travel, incident_id=incident_id)
        point = {"lon": float(lon), "lat": float(lat), "incident_id": incident_id}
        teams = view.team_options(d)
        return (view.decision_panel(d, principal.role == "district_commander"), view.decision_overlay(d), point, teams,
                [o["value"] for o in teams[:2]], view.stock_options(d), [])

    @dash_app.callback(
        Output("cmd-dispatch-msg", "children"), Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-dispatch", "n_clicks"), Input("cmd-new-incident", "n_clicks"),
        State("cmd-point", "data"), State("cmd-team-pick", "value"), State("cmd-alloc", "value"),
        State("cmd-alloc-qty", "value"), State("cmd-title", "value"), State("cmd-type", "value"),
        State("cmd-hours", "value"), prevent_initial_call=True)
    def act(_n: int, _m: int, point: Any, team_ids: Any, alloc: Any, qty: Any, title: Any, kind: Any,
            hours: Any) -> tuple[Any, ...]:
        principal = reader()
        if not point:
            return "请先在地图上点选位置或事件", no_update
        try:
            if ctx.triggered_id == "cmd-new-incident":
                return _new_incident(principal, point, title)
            return _dispatch(principal, point, team_ids, alloc, qty, title, kind, hours)
        except (ApiError, CommandError, ValidationError) as exc:  # CommandError: a refused dispatch
            return view.err_text(exc), no_update


def _import_roster(principal: Principal, contents: str, filename: str | None) -> tuple[Any, ...]:
    """Import an uploaded duty-roster CSV, all or nothing."""
    try:
        text = base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
    except (IndexError, binascii.Error, UnicodeDecodeError):
        return "文件须为UTF-8编码的CSV", no_update
    cipher = services().cipher
    if cipher is None:  # names and phones are stored encrypted: as the API (503 service.no_pii_key)
        return "未配置个人信息密钥", no_update
    try:
        with services().session_factory() as s, s.begin():
            count = roster.import_roster_csv(s, text, cipher=cipher, district_code=district_of(principal),
                                             actor=principal)
    except ImportRejected as exc:
        return html.Div([html.Div(f"导入被拒绝，未写入任何数据（{len(exc.problems)} 处错误）："),
                         html.Ul([html.Li(str(p)) for p in exc.problems[:10]])], className="bad"), no_update
    return f"已导入 {filename or ''} 共 {count} 条值班记录", datetime.now().timestamp()


def _register_roster(dash_app: Dash) -> None:
    """The duty-roster upload."""

    @dash_app.callback(
        Output("cmd-roster-msg", "children"), Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-roster-upload", "contents"), State("cmd-roster-upload", "filename"), prevent_initial_call=True)
    def upload_roster(contents: str | None, filename: str | None) -> tuple[Any, ...]:
        principal = reader()
        if not contents:
            raise PreventUpdate
        if principal.role not in WRITE_ROLES:
            return "当前角色无权导入值班表", no_update
        return _import_roster(principal, contents, filename)


def _record_movement(principal: Principal, site_id: int, item_code: str, kind: str, qty: Any) -> tuple[str, Any]:
    """Record a stock movement; the message to show and the refresh mark (no_update when nothing was recorded)."""
    if principal.role not in WRITE_ROLES:
        return "当前角色无权登记出入库", no_update
    if not qty or float(qty) <= 0:
        return "数量必须大于0", no_update

    def flow(s: Any) -> Any:
        stock.site_in_district(s, site_id=site_id, district_code=district_of(principal))
        return stock.apply_movement(s, stock.Movement(site_id=site_id, item_code=item_code, kind=kind,
                                                      quantity=Decimal(str(qty)), note="指挥一张图登记"),
                                    actor=principal)

    try:
        in_transaction(flow)
        publish_committed([{"kind": "stock", "id": site_id, "district_code": district_of(principal),
                          "fields": {"item_code": item_code}}])
    except (ApiError, CommandError) as exc:
        return view.err_text(exc), no_update
    return f"已登记{'入库' if kind == 'in' else '出库'} {qty}", datetime.now().timestamp()


def _stock_history(site_id: int, item_code: str) -> Any:
    """The last movements of one stock line."""
    with services().session_factory() as s:
        hist = stock.history(s, site_id=site_id, item_code=item_code, limit=8)
    if not hist:
        return html.Div("暂无出入库记录", className="empty")
    kinds = {"in": "入库", "out": "出库", "allocate": "调拨"}
    return html.Ul([html.Li(f"{beijing.minute(h['time'])} {kinds.get(h['kind'], h['kind'])} {h['delta']:+g}"
                            + (f" · 任务#{h['task_id']}" if h["task_id"] else "")) for h in hist])


def _register_stock(dash_app: Dash) -> None:
    """The stock table, its line picker, and recording a movement on a line."""

    @dash_app.callback(
        Output("cmd-stock-table", "children"), Output("cmd-stock-line", "options"),
        Input("cmd-refresh", "data"), Input("cmd-live", "n_clicks"))
    def stock_table(_r: Any, _l: Any) -> tuple[Any, ...]:
        principal = reader()
        with services().session_factory() as s:
            rows = stock.levels(s, district_code=district_of(principal))
        options = [{"label": f"{r['site_name']} · {r['item_name']}（{r['quantity']:g}{r['unit']}）",
                    "value": f"{r['site_id']}|{r['item_code']}"} for r in rows]
        return view.stock_table(rows), options

    @dash_app.callback(
        Output("cmd-stock-msg", "children"), Output("cmd-stock-history", "children"),
        Output("cmd-refresh", "data", allow_duplicate=True),
        Input("cmd-stock-save", "n_clicks"), Input("cmd-stock-line", "value"),
        State("cmd-stock-kind", "value"), State("cmd-stock-qty", "value"), prevent_initial_call=True)
    def stock_move(_n: int, line: str | None, kind: str, qty: Any) -> tuple[Any, ...]:
        principal = reader()
        if not line:
            raise PreventUpdate
        site_id, item_code = int(line.split("|")[0]), line.split("|")[1]
        message, refresh = "", no_update
        if ctx.triggered_id == "cmd-stock-save":
            message, refresh = _record_movement(principal, site_id, item_code, kind, qty)
        return message, _stock_history(site_id, item_code), refresh
