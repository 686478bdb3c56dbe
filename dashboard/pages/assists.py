"""跨地区协查 (/assists): inbox and outbox, one request with its timeline and actions, and the new-request form.

Layout and callbacks here; rendering in assists_view, form reading and actions in assists_forms. The page
refreshes when a request changes here or arrives from the other district (live event kind "assist",
assets/assists.js clicks the hidden `assist-live` button), and every 30 s.
"""
from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from accounts.principal import Principal
from assist import views
from assist.errors import AssistError
from assist.models import ListQuery
from assist.service import STAFF_ROLES, STATE_ZH
from dashboard.auth import current_principal
from dashboard.components.attrs import attrs
from dashboard.components.shell import ASSIST_ROLES
from dashboard.extensions import services
from dashboard.pages import assists_forms as forms
from dashboard.pages import assists_view as view
from dashboard.pages.assists_view import _id

PATH = "/assists"
TITLE = "跨地区协查"
BOXES = {"all": "全部", "inbox": "收件箱（本区收到）", "outbox": "发件箱（本区发出）"}
FORM_FIELDS = ("to_district", "subject_kind", "reason", "facts", "name", "id_number", "phone", "address",
               "place_name", "lon", "lat", "deadline")
ACTION_FIELDS = ("accept-note", "return-reason", "assignee", "assign-note", "findings", "attachments", "close-note")


def _field(label: str, control: Any) -> Any:
    return html.Label([html.Span(label, className="assist-label"), control], className="assist-field")


def _create_form(actor: Principal) -> Any:
    return html.Details([
        html.Summary("发起协查"),
        html.Div([
            _field("协查区", dcc.Dropdown(id=_id("new-to_district"), options=view.district_options(
                actor.district_code), placeholder="选择协查区")),
            _field("对象类型", dcc.Dropdown(id=_id("new-subject_kind"), placeholder="选择对象类型", options=[
                {"label": v, "value": k} for k, v in view.SUBJECT_ZH.items()])),
            _field("事由", dcc.Input(id=_id("new-reason"), placeholder="协查事由", maxLength=200, type="text")),
            _field("期限（北京时间）", dcc.Input(id=_id("new-deadline"), placeholder="如 2026-11-05 18:00",
                                                    maxLength=16, type="text")),
            _field("核查事项（每行一项）", dcc.Textarea(id=_id("new-facts"), maxLength=8000,
                                                        placeholder="如：核实现住址")),
            _field("姓名（可选）", dcc.Input(id=_id("new-name"), maxLength=100, type="text")),
            _field("身份证号（可选）", dcc.Input(id=_id("new-id_number"), maxLength=20, type="text")),
            _field("电话（可选）", dcc.Input(id=_id("new-phone"), maxLength=20, type="text")),
            _field("住址（可选）", dcc.Input(id=_id("new-address"), maxLength=300, type="text")),
            _field("地点名称（可选）", dcc.Input(id=_id("new-place_name"), maxLength=200, type="text")),
            _field("经度（可选）", dcc.Input(id=_id("new-lon"), type="number", min=-180, max=180)),
            _field("纬度（可选）", dcc.Input(id=_id("new-lat"), type="number", min=-90, max=90)),
        ], className="assist-form-grid"),
        html.P("个人信息加密保存，仅以数字信封密封发送给协查区。", className="assist-hint"),
        html.Button("发送协查", id=_id("create"), className="assist-btn primary"),
    ], className="assist-create", hidden=actor.role not in STAFF_ROLES, id=_id("create-form"))


def layout(query: dict[str, str]) -> Any:
    actor = current_principal()
    if actor is None or actor.role not in ASSIST_ROLES:
        return html.Div([html.H1(TITLE), html.P("当前角色无权查看跨地区协查")], className="page page-assists")
    box = query.get("box") if query.get("box") in BOXES else "all"
    filters = html.Div([
        dcc.RadioItems(id=_id("box"), options=[{"label": v, "value": k} for k, v in BOXES.items()], value=box,
                       inline=True),
        dcc.Dropdown(id=_id("state"), options=[{"label": v, "value": k} for k, v in STATE_ZH.items()],
                     placeholder="状态", clearable=True),
        dcc.Checklist(id=_id("overdue"), options=[{"label": "仅超期", "value": "1"}], value=[]),
    ], className="assist-filters")
    return html.Div([
        html.H1(TITLE),
        html.Button(id=_id("live"), n_clicks=0, hidden=True, **attrs({"aria-hidden": "true", "tabIndex": "-1"})),
        dcc.Store(id=_id("selected"), data=int(query["id"]) if query.get("id", "").isdigit() else None),
        dcc.Store(id=_id("changed"), data=0),
        dcc.Interval(id=_id("tick"), interval=30_000),
        _create_form(actor),
        filters,
        html.Div(id=_id("message"), className="assist-message", role="status"),
        html.Div([html.Div(id=_id("list"), className="assist-list"),
                  html.Div(id=_id("detail"), className="assist-detail")], className="assist-body"),
    ], className="page page-assists")


def _page(actor: Principal, box: str | None, state: str | None, overdue: bool) -> dict[str, Any]:
    query = ListQuery(box=None if box in (None, "all") else box, state=state or None, limit=500)
    with services().session_factory() as s:
        page = views.list_requests(s, actor=actor, query=query)
    if overdue:
        items = [i for i in page["items"] if i["overdue"]]
        page = {"total": len(items), "items": items}
    return page


def _detail(actor: Principal, request_id: int) -> Any:
    svc = services()
    try:
        with svc.session_factory() as s, s.begin():  # a clear read of personal data writes its audit row
            d = views.detail(s, actor=actor, request_id=request_id, cipher=svc.cipher)
    except AssistError:
        return html.P("协查请求不存在或无权查看")
    return view.detail(d)


def register(dash_app: Dash) -> None:
    """List, selection, detail, the actions and the new-request form."""

    @dash_app.callback(Output(_id("list"), "children"),
                       Input(_id("box"), "value"), Input(_id("state"), "value"), Input(_id("overdue"), "value"),
                       Input(_id("tick"), "n_intervals"), Input(_id("live"), "n_clicks"), Input(_id("changed"), "data"),
                       State(_id("selected"), "data"))
    def refresh(box: str | None, state: str | None, overdue: list[str], *rest: Any) -> Any:
        actor = current_principal()
        if actor is None or actor.role not in ASSIST_ROLES:
            return html.P("当前角色无权查看跨地区协查")
        try:
            page = _page(actor, box, state, bool(overdue))
        except ValidationError as exc:
            return html.P(forms.describe(exc), className="error")
        return view.request_list(page, rest[-1])

    @dash_app.callback(Output(_id("selected"), "data", allow_duplicate=True),
                       Input({"type": _id("open"), "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(clicks: list[int | None]) -> Any:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update
        return ctx.triggered_id["id"]

    @dash_app.callback(Output(_id("detail"), "children"), Input(_id("selected"), "data"),
                       Input(_id("changed"), "data"), Input(_id("live"), "n_clicks"))
    def detail(request_id: int | None, *_: Any) -> Any:
        actor = current_principal()
        if actor is None or actor.role not in ASSIST_ROLES or request_id is None:
            return html.P("选择一项协查请求查看详情与时间线", className="assist-hint")
        return _detail(actor, request_id)

    _register_actions(dash_app)


def _register_actions(dash_app: Dash) -> None:
    @dash_app.callback(
        Output(_id("message"), "children"), Output(_id("changed"), "data"),
        *[Input(_id(a), "n_clicks") for a in view.ACTIONS],
        State(_id("selected"), "data"), State(_id("changed"), "data"),
        *[State(_id(f), "value") for f in ACTION_FIELDS], prevent_initial_call=True)
    def act(*args: Any) -> Any:
        n = len(view.ACTIONS)
        request_id, changed = args[n], args[n + 1]
        actor = current_principal()
        if actor is None or request_id is None or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update
        values = dict(zip(ACTION_FIELDS, args[n + 2:], strict=True))
        message, done = forms.perform(actor, str(ctx.triggered_id).removeprefix(_id("")), request_id, values)
        return message, (changed or 0) + 1 if done else no_update

    @dash_app.callback(
        Output(_id("message"), "children", allow_duplicate=True), Output(_id("selected"), "data"),
        Output(_id("changed"), "data", allow_duplicate=True), Input(_id("create"), "n_clicks"),
        State(_id("changed"), "data"), *[State(_id(f"new-{f}"), "value") for f in FORM_FIELDS],
        prevent_initial_call=True)
    def create(clicks: int | None, changed: int | None, *values: Any) -> Any:
        actor = current_principal()
        if actor is None or not clicks:
            return no_update, no_update, no_update
        message, request_id = forms.create(actor, dict(zip(FORM_FIELDS, values, strict=True)))
        if request_id is None:
            return message, no_update, no_update
        return message, request_id, (changed or 0) + 1
