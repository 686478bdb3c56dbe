"""预警信号: the signal list with filters; each signal explains itself (chart, words, map, timeline, receipts, actions)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from accounts.principal import Principal
from accounts.whoami import role_name
from alerting import service
from alerting.explain import explain
from alerting.schemas import STATE_ZH, SignalQuery, TransitionRequest
from alerting.service import ROLES_FOR_STATE, TRANSITIONS, SignalError
from dashboard.api.requests import publish_one
from dashboard.api.signals import move_signal
from dashboard.auth import current_principal
from dashboard.basemap import current_basemap
from dashboard.components import identity_panel
from dashboard.components.attrs import attrs
from dashboard.components.charts import DATE_TICKS, GRAPH_CONFIG
from dashboard.components.grade import alarm_table, detail_alarms, grade_badge
from dashboard.extensions import services
from dashboard.pages import signal_fieldwork
from dashboard.read_routing import read_only
from geo import beijing
from geo.geojson import feature, feature_collection
from store.labels import MODEL_ZH, model_name

PATH = "/signals"
TITLE = "预警信号"
ACTION_ZH = {"created": "模型触发", "received": "市级下发", "refired": "再次触发", "transition": "状态变更",
             "assigned": "指派", "acknowledged": "机构签收", "escalated": "超时督办"}
VERIFY_DEFAULT_NOTE = "开始核实（未填写说明）"
TO_ZH = {"verifying": "开始核实", "excluded": "排除", "suspected": "判为疑似事件", "confirmed": "确认事件",
         "responding": "启动处置", "closed": "结案"}


def _id(name: str) -> str:
    return f"sig-{name}"


def _when(value: datetime | None) -> str:
    return beijing.minute(value)


def layout(query: dict[str, str]) -> Any:
    selected = int(query["id"]) if query.get("id", "").isdigit() and len(query["id"]) < 10 else None
    filters = html.Div([
        dcc.Dropdown(id=_id("state"), options=[{"label": v, "value": k} for k, v in STATE_ZH.items()],
                     placeholder="状态", clearable=True, value=query.get("state") if query.get("state") in STATE_ZH else None),
        dcc.Dropdown(id=_id("model"), options=[{"label": v, "value": k} for k, v in MODEL_ZH.items()],
                     placeholder="模型", clearable=True),
        dcc.Checklist(id=_id("open"), options=[{"label": "仅未结束", "value": "1"}], value=["1"]),
    ], className="sig-filters")
    return html.Div([
        html.H1(TITLE),
        filters,
        dcc.Store(id=_id("selected"), data=selected),
        dcc.Store(id=_id("changed"), data=0),
        dcc.Interval(id=_id("tick"), interval=60_000),
        html.Div(id=_id("message"), className="sig-message", role="status"),
        html.Div([
            html.Div(id=_id("list"), className="sig-list"),
            html.Div(id=_id("detail"), className="sig-detail",
                     children=detail_view(selected) if selected else html.P("选择左侧信号查看证据与处置。")),
        ], className="sig-body"),  # layout in assets/shell.css
    ], className="page page-signals")


def _principal() -> Principal | None:
    return current_principal()


def list_view(state: str | None, model: str | None, open_only: bool) -> Any:
    """The table of signals in the viewer's scope, the most severe first."""
    principal = _principal()
    if principal is None:
        return html.P("需要登录")
    query = SignalQuery(state=state, model=model, open_only=open_only, sort="grade", limit=200)
    with read_only() as s:
        total, rows = service.list_signals(s, actor=principal, query=query)
        items = service.signal_dicts(s, rows)
    head = html.Tr([html.Th(h) for h in ("等级", "状态", "信号", "模型", "区域", "截至", "触发次数", "签收")])
    body = [html.Tr([
        html.Td(grade_badge(i)),
        html.Td(STATE_ZH[i["state"]], className=f"state state-{i['state']}"),
        html.Td(dcc.Link(i["title"], href=f"{PATH}?id={i['id']}")),
        html.Td(model_name(i["model"], (i.get("params") or {}).get("method"))),
        html.Td(i["region_name"] or i["region_code"] or ""),
        html.Td(i["window_end"].isoformat() if i["window_end"] else ""),
        html.Td(str(i["fire_count"])),
        html.Td(f"{i['receipts_acknowledged']}/{i['receipts_total']}"),
    ]) for i in items]
    return html.Div([html.P(f"共 {total} 条"), html.Table([html.Thead(head), html.Tbody(body)], className="table")])


def _chart(detail: dict[str, Any]) -> Any:
    series = (detail.get("evidence") or {}).get("series")
    if not series:
        return None
    fig = go.Figure()
    unit = "每周病例数" if series.get("unit") == "week" else "每日病例数"
    fig.add_bar(x=series["dates"], y=series["counts"], name=unit, marker_color="#8fb3d9")
    model = detail["model"]
    if model == "moving_percentile" or model == "count_threshold":
        fig.add_scatter(x=series["dates"], y=series.get("observed"), name="窗口病例数（观察值）", mode="lines")
    if series.get("baseline") and model != "cusum":
        fig.add_scatter(x=series["dates"], y=series["baseline"], name="基线", mode="lines", line={"dash": "dot"})
    if series.get("threshold"):
        fig.add_scatter(x=series["dates"], y=series["threshold"], name="阈值/上限", mode="lines",
                        line={"color": "#d62728", "dash": "dash"})
    day = (detail.get("evidence") or {}).get("alarm_day")
    if day and detail.get("observed") is not None:
        fig.add_scatter(x=[day], y=[detail["observed"]], name="触发点", mode="markers",
                        marker={"size": 12, "color": "#d62728", "symbol": "diamond"})
    fig.update_layout(height=300, margin={"l": 40, "r": 10, "t": 10, "b": 40}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(tickformat=DATE_TICKS, hoverformat="%Y-%m-%d")
    return dcc.Graph(figure=fig, config=GRAPH_CONFIG, id=_id("chart"))


def _map(detail: dict[str, Any]) -> Any:
    geometry = detail.get("geometry")
    if geometry is None:
        return None
    shape = feature_collection([feature(geometry, {"title": detail["title"]})])
    layers: list[Any] = []
    basemap = current_basemap()  # BASEMAP_FILE served at /basemap/…, or BASEMAP_URL
    if basemap is not None:
        layers.append(dl.TileLayer(**basemap.leaflet_props()))
    layers.append(dl.GeoJSON(data=shape, id=_id("area"), zoomToBounds=True,
                             style={"color": "#d62728", "weight": 2, "fillOpacity": 0.25}))
    layers.append(dl.AttributionControl(prefix="", position="bottomright"))  # no Leaflet prefix (flag icon)
    return dl.Map(layers, center=[31.215, 121.41], zoom=12, style={"height": "280px"}, id=_id("map"),
                  attributionControl=False)


def _timeline(detail: dict[str, Any]) -> Any:
    items = []
    for e in detail["events"]:
        label = ACTION_ZH.get(e["action"], e["action"])
        if e["action"] == "transition":
            label = f"{STATE_ZH.get(e['from_state'], '')} → {STATE_ZH.get(e['to_state'], '')}"
        items.append(html.Li([html.Span(_when(e["time"]), className="time"), " ", html.B(label), " ",
                              html.Span(e.get("actor_name") or "系统"),
                              html.Span(f"：{e['reason']}" if e.get("reason") else "")]))
    return html.Ol(items, className="sig-timeline")


def _receipts(detail: dict[str, Any]) -> Any:
    rows = [html.Tr([html.Td(r["institution_name"]), html.Td(_when(r["pushed_at"])),
                     html.Td(f"已签收 {_when(r['acknowledged_at'])}" if r["acknowledged_at"] else "未签收")])
            for r in detail["receipts"]]
    return html.Table([html.Thead(html.Tr([html.Th("机构"), html.Th("推送时间"), html.Th("签收")])),
                       html.Tbody(rows)], className="table")


def _roles_for(to: str) -> str:
    """Who may move a signal to `to`, in Chinese, for the disabled button's title."""
    return "、".join(role_name(r) for r in sorted(ROLES_FOR_STATE[to], key=lambda r: (r.startswith("city"), r)))


def _actions(detail: dict[str, Any], principal: Principal, notice: str | None = None) -> Any:
    buttons = [html.Button(TO_ZH[to], id={"type": _id("act"), "to": to}, n_clicks=0, className="btn")
               for to in detail["allowed_transitions"]]
    buttons += [html.Button(TO_ZH[to], disabled=True, className="btn", title=f"仅{_roles_for(to)}可执行此操作")
                for to in sorted(TRANSITIONS[detail["state"]]) if to not in detail["allowed_transitions"]]
    if principal.role == "institution_user" and any(r["acknowledged_at"] is None for r in detail["receipts"]):
        buttons.append(html.Button("签收", id={"type": _id("act"), "to": "acknowledge"}, n_clicks=0, className="btn"))
    # the reason box is always there (callbacks read it), shown only when a transition is possible
    reason = dcc.Textarea(id=_id("reason"), placeholder="处置说明（开始核实可不填，其余操作必填）", maxLength=2000,
                          style={"width": "100%"} if detail["allowed_transitions"] else {"display": "none"})
    return html.Div([reason, html.Div(buttons or html.P("当前无可执行操作。"),
                                      style={"display": "flex", "gap": "8px"}),
                     html.P(notice, className="sig-notice", role="alert", id=_id("notice")) if notice else None])


def detail_view(signal_id: int, notice: str | None = None) -> Any:
    """One signal with its explanation, chart, area, timeline, receipts and the viewer's actions."""
    principal = _principal()
    if principal is None:
        return html.P("需要登录")
    try:
        with services().session_factory() as s:
            detail = service.signal_detail(s, actor=principal, signal_id=signal_id)
    except SignalError as exc:
        return html.P(exc.message_zh, className="error")
    ev = detail.get("evidence") or {}
    meta = [f"状态：{STATE_ZH[detail['state']]}", f"模型：{model_name(detail['model'], (detail.get('params') or {}).get('method'))}",
            f"首次触发：{_when(detail['first_fired_at'])}", f"触发次数：{detail['fire_count']}",
            f"核实时限：{_when(detail['verify_due_at'])}"]
    if detail["escalated_at"]:
        meta.append(f"已督办：{_when(detail['escalated_at'])}")
    cases = ev.get("cases") or []
    return html.Div([
        html.H2([detail["title"], " ", grade_badge(detail)]),
        html.P(" ｜ ".join(meta), className="sig-meta"),
        html.P(explain(detail), className="sig-explain", id=_id("explain")),
        _chart(detail),
        _map(detail),
        *([html.H3(f"关联模型报警（{len(detail['alarms'])}）"), alarm_table(detail_alarms(detail))]
          if detail.get("kind") == "event" and principal.role != "institution_user" else []),
        *(signal_fieldwork.section(signal_id, principal)
          if detail.get("kind") == "event" and principal.role != "institution_user" else []),
        identity_panel.case_list(cases, principal),  # each case with 查看身份信息 (purpose asked, audited)
        html.H3("处置"), _actions(detail, principal, notice),
        html.H3("时间线"), _timeline(detail),
        html.H3(f"推送与签收（{detail['receipts_acknowledged']}/{detail['receipts_total']}）"), _receipts(detail),
    ], **attrs({"data-signal-id": str(signal_id)}))


def act(signal_id: int, to: str, reason: str | None) -> str:
    """Apply one button of the detail view; returns the message to show."""
    principal = _principal()
    if principal is None:
        return "需要登录"
    try:
        with services().session_factory() as s, s.begin():
            if to == "acknowledge":
                service.acknowledge(s, actor=principal, signal_id=signal_id, publish=publish_one)
                return "已签收"
            # Starting verification is routine for the duty officer: a note is welcome, not required.
            note = (reason or "").strip() or (VERIFY_DEFAULT_NOTE if to == "verifying" else "")
            body = TransitionRequest(to=to, reason=note)
            move_signal(s, actor=principal, signal_id=signal_id, to=body.to, reason=body.reason)
            return f"已{TO_ZH.get(to, to)}"
    except ValidationError:
        return f"请先在上方填写处置说明，再点击「{TO_ZH.get(to, to)}」"
    except SignalError as exc:
        return exc.message_zh


def register(dash_app: Dash) -> None:
    identity_panel.register(dash_app)

    @dash_app.callback(Output(_id("list"), "children"), Input(_id("state"), "value"), Input(_id("model"), "value"),
                       Input(_id("open"), "value"), Input(_id("changed"), "data"), Input(_id("tick"), "n_intervals"))
    def _list(state: str | None, model: str | None, open_only: list[str], _c: int, _t: int) -> Any:
        return list_view(state, model, bool(open_only))

    @dash_app.callback(Output(_id("message"), "children"), Output(_id("changed"), "data"),
                       Output(_id("detail"), "children"),
                       Input({"type": _id("act"), "to": ALL}, "n_clicks"), State(_id("reason"), "value"),
                       State(_id("selected"), "data"), State(_id("changed"), "data"), prevent_initial_call=True)
    def _act(clicks: list[int], reason: str | None, selected: int | None, changed: int) -> Any:
        trigger = ctx.triggered_id
        if not selected or not isinstance(trigger, dict) or not any(clicks or []):
            return no_update, no_update, no_update
        message = act(int(selected), str(trigger["to"]), reason)
        return message, (changed or 0) + 1, detail_view(int(selected), message)
