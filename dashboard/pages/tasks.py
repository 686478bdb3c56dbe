"""任务派单: city and district tasks as a list or a board, each as a tree with its timeline and actions."""
from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from accounts.principal import Principal
from dashboard.api.requests import publish_one
from dashboard.auth import current_principal
from dashboard.extensions import services
from dashboard.form_errors import describe
from dashboard.read_routing import read_only
from dispatch import outbox, service
from dispatch.action_reasons import task_disabled_reasons
from dispatch.models import DeliveryQuery, FeedbackRequest, SubtaskSpec, TaskQuery
from dispatch.service import PRIORITY_ZH, STATE_ZH, TYPE_ZH, DispatchError, Publish
from geo import beijing
from geo.dates import CST
from store.labels import event_name

PATH = "/tasks"
TITLE = "任务派单"
BOARD_STATES = ("issued", "accepted", "in_progress", "done", "returned")
COUNT_FIELDS = (("persons_traced", "流调人数"), ("samples_taken", "采样数"), ("sites_disinfected", "消杀点位"))
ADMIN_ROLES = ("district_commander", "city_admin")


def _id(name: str) -> str:
    return f"tasks-{name}"


def _options(labels: dict[Any, str]) -> list[dict[str, Any]]:
    return [{"label": v, "value": k} for k, v in labels.items()]


def _when(value: datetime | None) -> str:
    return beijing.short(value)


def _task_id(text: str) -> int | None:
    """A task id from the address (?id=…), if it is one."""
    return int(text) if text.isdigit() and 1 <= int(text) < 2**31 else None


def layout(query: dict[str, str]) -> Any:
    filters = html.Div([
        dcc.Dropdown(id=_id("state"), options=_options(STATE_ZH), placeholder="状态", clearable=True,
                     value=query.get("state") if query.get("state") in STATE_ZH else None),
        dcc.Dropdown(id=_id("type"), options=_options(TYPE_ZH), placeholder="类型", clearable=True),
        dcc.Checklist(id=_id("overdue"), options=[{"label": "仅超期", "value": "1"}], value=[]),
        dcc.Input(id=_id("q"), type="search", placeholder="标题或市级任务号", debounce=True, maxLength=100),
        dcc.RadioItems(id=_id("view"), options=[{"label": "列表", "value": "list"}, {"label": "看板", "value": "board"}],
                       value=query.get("view", "list"), inline=True),
    ], className="tasks-filters")
    return html.Div([
        html.H1(TITLE),
        filters,
        dcc.Store(id=_id("selected"), data=_task_id(query.get("id", ""))),
        dcc.Store(id=_id("changed"), data=0),
        dcc.Interval(id=_id("tick"), interval=30_000),
        html.Div(id=_id("message"), className="tasks-message", role="status"),
        html.Div([
            html.Div(id=_id("list"), className="tasks-list"),
            html.Div(id=_id("detail"), className="tasks-detail"),
        ], className="tasks-body"),  # layout in assets/shell.css
    ], className="page page-tasks")


# ---------------------------------------------------------------- rendering

def _badge(task: dict[str, Any]) -> Any:
    key = "overdue" if task["overdue"] else task["state"]
    return html.Span("已超期" if task["overdue"] else task["state_zh"], className=f"task-state state-{key}",
                     style={"background": STATE_COLOUR[key], "color": "#fff", "padding": "1px 6px",
                            "borderRadius": "3px", "fontSize": "13px"})


STATE_COLOUR = {"issued": "#2f80ed", "accepted": "#9b51e0", "in_progress": "#f2994a", "done": "#27ae60",
                "returned": "#828282", "cancelled": "#bdbdbd", "overdue": "#eb5757"}


def _progress(value: int) -> Any:
    bar = html.Div(style={"width": f"{value}%", "height": "100%", "background": "#27ae60"})
    return html.Div(bar, className="task-progress", title=f"{value}%",
                    style={"width": "120px", "height": "8px", "background": "#e0e0e0", "display": "inline-block"})


def _row(task: dict[str, Any]) -> Any:
    return html.Tr([
        html.Td(html.Button(task["title"], id={"type": _id("open"), "id": task["id"]}, className="link-button")),
        html.Td(TYPE_ZH.get(task["type"], task["type"])), html.Td(PRIORITY_ZH.get(task["priority"], "")),
        html.Td(_badge(task)), html.Td(_progress(task["progress"])), html.Td(_when(task["deadline"])),
        html.Td(task["city_task_id"] or "区级"),
    ])


def _list(tasks: list[dict[str, Any]], total: int) -> Any:
    head = html.Tr([html.Th(h) for h in ("任务", "类型", "优先级", "状态", "进度", "期限", "市级任务号")])
    return html.Div([html.P(f"共 {total} 项"), html.Table([html.Thead(head), html.Tbody([_row(t) for t in tasks])],
                                                       className="tasks-table")])


def _board(tasks: list[dict[str, Any]]) -> Any:
    columns = []
    for state in BOARD_STATES:
        cards = [html.Div([
            html.Button(t["title"], id={"type": _id("open"), "id": t["id"]}, className="link-button"),
            html.Div([_badge(t), " ", _when(t["deadline"])]), _progress(t["progress"]),
        ], className="task-card") for t in tasks if t["state"] == state]
        columns.append(html.Div([html.H3(f"{STATE_ZH[state]}（{len(cards)}）"), *cards], className="task-column",
                                style={"flex": "1", "minWidth": "180px"}))
    return html.Div(columns, className="tasks-board", style={"display": "flex", "gap": "12px"})


def _tree(node: dict[str, Any], selected: int) -> Any:
    line = html.Div([
        html.Button(node["title"], id={"type": _id("open"), "id": node["id"]}, className="link-button"),
        " ", _badge(node), " ", f"{node['progress']}%",
        html.Span(f" · {node['assignee_name']}" if node["assignee_name"] else " · 区级承办"),
    ], className="task-node" + (" selected" if node["id"] == selected else ""))
    kids = [_tree(c, selected) for c in node.get("children", [])]
    return html.Li([line, html.Ul(kids)] if kids else [line])


def _timeline(events: list[dict[str, Any]]) -> Any:
    items = []
    for e in reversed(events):
        what = event_name(e["kind"])
        if e["to_state"] and e["from_state"] != e["to_state"]:
            what += f"：{STATE_ZH.get(e['from_state'] or '', '—')} → {STATE_ZH.get(e['to_state'], e['to_state'])}"
        counts = "，".join(f"{dict(COUNT_FIELDS).get(k, k)} {v}" for k, v in (e["counts"] or {}).items())
        items.append(html.Li([html.Span(_when(e["time"]), className="when"), f" {e.get('actor_display') or '系统'} · {what}",
                              f"（进度 {e['progress']}%）" if e["progress"] is not None else "",
                              html.Div(e["note"]) if e["note"] else None, html.Div(counts) if counts else None]))
    return html.Ul(items, className="task-timeline")


def _deliveries(rows: list[dict[str, Any]]) -> Any:
    head = html.Tr([html.Th(h) for h in ("序号", "事件", "状态", "尝试", "HTTP", "最近错误", "送达")])
    body = [html.Tr([html.Td(r["idempotency_key"].rsplit(":", 1)[-1]), html.Td(event_name(r["event"])),
                     html.Td("已送达" if r["status"] == "delivered" else "待重试"), html.Td(r["attempts"]),
                     html.Td(r["last_status_code"] or ""), html.Td((r["last_error"] or "")[:60]),
                     html.Td(_when(r["delivered_at"]))]) for r in rows]
    return html.Table([html.Thead(head), html.Tbody(body)], className="tasks-table")


def _actions(allowed: set[str], assignees: list[tuple[str, str]], why: dict[str, str] | None = None) -> Any:
    """The action controls; a disabled one says (title) which role may act or why not now."""
    why = why or {}

    def off(name: str) -> bool:
        return name not in allowed

    def tip(name: str) -> dict[str, Any]:  # Any: passed as **kwargs to Dash components (see components.attrs)
        return {"title": why[name]} if off(name) and name in why else {}

    return html.Div([
        html.H3("操作"),
        html.Div([
            html.Button("签收", id=_id("accept"), disabled=off("accept"), **tip("accept")),
            dcc.Input(id=_id("return-reason"), placeholder="退回原因", maxLength=2000, disabled=off("return")),
            html.Button("退回", id=_id("return"), disabled=off("return"), **tip("return")),
            html.Button("撤销", id=_id("cancel"), disabled=off("cancel"), **tip("cancel")),
        ], className="task-action-row"),
        html.Fieldset([
            html.Legend("分解子任务"),
            dcc.Input(id=_id("sub-title"), placeholder="子任务名称", maxLength=200),
            dcc.Dropdown(id=_id("sub-type"), options=_options(TYPE_ZH), placeholder="类型（默认同上级）"),
            dcc.Dropdown(id=_id("sub-assignee"), options=[{"label": lbl, "value": v} for v, lbl in assignees],
                         placeholder="承办机构或队伍"),
            dcc.Input(id=_id("sub-deadline"), type="text", maxLength=16, inputMode="numeric",
                      placeholder="期限，如 2026-11-05 18:00"),
            html.Button("下发子任务", id=_id("split")),
        ], disabled=off("split"), className="task-form", **tip("split")),
        html.Fieldset([
            html.Legend("反馈进度"),
            dcc.Dropdown(id=_id("fb-status"), value="in_progress", clearable=False,
                         options=[{"label": "处置中", "value": "in_progress"}, {"label": "已完成", "value": "done"}]),
            dcc.Input(id=_id("fb-progress"), type="number", min=0, max=100, step=1, placeholder="进度 %"),
            *[dcc.Input(id=_id(f"fb-{k}"), type="number", min=0, step=1, placeholder=label) for k, label in COUNT_FIELDS],
            dcc.Textarea(id=_id("fb-note"), placeholder="情况说明", maxLength=4000),
            html.Button("提交反馈", id=_id("feedback")),
        ], disabled=off("feedback"), className="task-form", **tip("feedback")),
    ], className="task-actions")


def _detail(actor: Principal, task_id: int) -> Any:
    with services().session_factory() as s:
        try:
            task = service.load_task(s, actor=actor, task_id=task_id)
        except DispatchError:
            return html.P("任务不存在或无权查看")
        root_id = task.root_id or task.id
        try:  # the whole tree when the actor may see its root (institutions see only their own branch)
            tree = service.task_tree(s, actor=actor, task_id=root_id)
        except DispatchError:
            tree = service.task_tree(s, actor=actor, task_id=task.id)
        events = service.task_events(s, actor=actor, task_id=task_id)
        allowed = service.allowed_actions(s, actor=actor, task=task)
        why = task_disabled_reasons(s, task, allowed)
        assignees = service.assignee_options(s, district_code=task.district_code) if "split" in allowed else []
        current = service.task_dict(s, task)
        log = outbox.list_deliveries(s, actor=actor, query=DeliveryQuery(task_id=root_id, limit=50)) \
            if actor.role in ADMIN_ROLES and task.root_id is None and task.city_task_id else None
    info = html.Div([
        html.H2(current["title"]), _badge(current), _progress(current["progress"]),
        html.P(f"{TYPE_ZH.get(current['type'], '')} · {PRIORITY_ZH.get(current['priority'], '')} · "
               f"期限 {_when(current['deadline'])}" + (f" · 市级任务号 {current['city_task_id']}"
                                                     if current["city_task_id"] else "")),
        html.P(current["description"]) if current["description"] else None,
    ])
    return html.Div([
        info,
        html.H3("任务树"), html.Ul([_tree(tree, task_id)], className="task-tree"),
        _actions(allowed, assignees, why),
        html.H3("时间线"), _timeline(events),
        *([html.H3("市级回调投递"), _deliveries(log)] if log is not None else []),
    ])


# ---------------------------------------------------------------- callbacks

def _feedback_body(status: str, progress: Any, note: str | None, counts: list[Any]) -> FeedbackRequest:
    return FeedbackRequest.model_validate({
        "status": status, "progress": progress, "note": note or None,
        "counts": {k: v for (k, _), v in zip(COUNT_FIELDS, counts, strict=True) if v not in (None, "")},
    })


def _subtask(title: str | None, kind: str | None, assignee: str | None, deadline: str | None) -> SubtaskSpec:
    who, _, ident = (assignee or ":").partition(":")
    when = _deadline(deadline)
    return SubtaskSpec.model_validate({
        "title": title or "", "type": kind, "deadline": when,
        "assignee_institution_id": int(ident) if who == "inst" else None,
        "assignee_team_id": int(ident) if who == "team" else None,
    })


def _deadline(raw: str | None) -> datetime | str | None:
    """'YYYY-MM-DD HH:MM' typed as Beijing time; unreadable text goes on to the model, which names the field."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value.replace(tzinfo=CST) if value.tzinfo is None else value


def _invalid(exc: ValidationError) -> str:
    return describe(exc)


def register(dash_app: Dash) -> None:
    """List/board refresh, selection, detail and the task actions."""

    @dash_app.callback(
        Output(_id("list"), "children"),
        Input(_id("state"), "value"), Input(_id("type"), "value"), Input(_id("overdue"), "value"),
        Input(_id("q"), "value"), Input(_id("view"), "value"), Input(_id("tick"), "n_intervals"),
        Input(_id("changed"), "data"),
    )
    def refresh(state: str | None, kind: str | None, overdue: list[str], q: str | None, view: str, *_: Any) -> Any:
        actor = current_principal()
        if actor is None:
            return html.P("请先登录")
        try:
            query = TaskQuery(state=state, type=kind, overdue=True if overdue else None, q=q or None,
                              roots_only=actor.role != "institution_user", limit=500)
        except ValidationError as exc:
            return html.P(_invalid(exc))
        with read_only() as s:
            total, rows = service.list_tasks(s, actor=actor, query=query)
            tasks = service.task_dicts(s, rows)
        return _board(tasks) if view == "board" else _list(tasks, total)

    @dash_app.callback(Output(_id("selected"), "data"), Input({"type": _id("open"), "id": ALL}, "n_clicks"),
                       prevent_initial_call=True)
    def select(clicks: list[int | None]) -> Any:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update
        return ctx.triggered_id["id"]

    @dash_app.callback(Output(_id("detail"), "children"), Input(_id("selected"), "data"), Input(_id("changed"), "data"))
    def detail(task_id: int | None, _: int) -> Any:
        actor = current_principal()
        if actor is None or task_id is None:
            return html.P("选择一项任务查看详情")
        return _detail(actor, task_id)

    @dash_app.callback(
        Output(_id("message"), "children"), Output(_id("changed"), "data"),
        Input(_id("accept"), "n_clicks"), Input(_id("return"), "n_clicks"), Input(_id("cancel"), "n_clicks"),
        Input(_id("split"), "n_clicks"), Input(_id("feedback"), "n_clicks"),
        State(_id("selected"), "data"), State(_id("changed"), "data"), State(_id("return-reason"), "value"),
        State(_id("sub-title"), "value"), State(_id("sub-type"), "value"), State(_id("sub-assignee"), "value"),
        State(_id("sub-deadline"), "value"), State(_id("fb-status"), "value"), State(_id("fb-progress"), "value"),
        State(_id("fb-note"), "value"), *[State(_id(f"fb-{k}"), "value") for k, _ in COUNT_FIELDS],
        prevent_initial_call=True,
    )
    def act(*args: Any) -> Any:
        clicked = ctx.triggered_id
        task_id, changed, reason, sub_title, sub_type, sub_assignee, sub_deadline = args[5:12]
        fb_status, fb_progress, fb_note, *counts = args[12:]
        actor = current_principal()
        if actor is None or task_id is None or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update
        return _perform(actor, clicked, task_id, reason=reason, fb=(fb_status, fb_progress, fb_note, counts),
                        sub=(sub_title, sub_type, sub_assignee, sub_deadline), changed=changed)


class _Common(TypedDict):
    """The arguments every task action takes."""

    actor: Principal
    task_id: int
    publish: Publish


def _perform(actor: Principal, action: str, task_id: int, *, reason: str | None, fb: tuple[Any, ...],
             sub: tuple[Any, ...], changed: int) -> tuple[Any, int]:
    """Run one action through the same domain flows as the API; answer with a Chinese message."""
    common = _Common(actor=actor, task_id=task_id, publish=publish_one)
    done = {_id("accept"): "已签收", _id("return"): "已退回", _id("cancel"): "已撤销", _id("split"): "子任务已下发",
            _id("feedback"): "反馈已提交"}
    try:
        with services().session_factory() as s, s.begin():
            if action == _id("accept"):
                service.accept_task(s, **common)
            elif action == _id("return"):
                reason = (reason or "").strip()
                if not reason:
                    return html.Span("请填写退回原因", className="error"), changed
                service.return_task(s, reason=reason, **common)
            elif action == _id("cancel"):
                service.cancel_task(s, **common)
            elif action == _id("split"):
                service.split_task(s, specs=[_subtask(*sub)], **common)
            elif action == _id("feedback"):
                service.report_feedback(s, data=_feedback_body(fb[0], fb[1], fb[2], fb[3]), **common)
    except ValidationError as exc:
        return html.Span(_invalid(exc), className="error"), changed
    except (DispatchError, ValueError) as exc:
        return html.Span(getattr(exc, "message_zh", "输入有误"), className="error"), changed
    return html.Span(done.get(action, "完成"), className="ok"), (changed or 0) + 1
