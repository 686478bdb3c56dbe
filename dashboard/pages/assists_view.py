"""Rendering of 跨地区协查 (/assists): the list, one request with its timeline and actions, the new-request form.

Pure: request dicts (assist.views) in, Dash components out. Times in Beijing time (geo.beijing).
"""
from __future__ import annotations

from typing import Any

from dash import dcc, html

from assist.districts import CITY, DISTRICTS, name_of
from assist.service import STATE_ZH
from geo import beijing

SUBJECT_ZH = {"person": "个人", "contact": "密切接触者", "place": "场所", "sample": "样本"}
DIRECTION_ZH = {"out": "本区发出", "in": "本区收到"}
EVENT_ZH = {"sent": "发出", "received": "送达", "accepted": "受理", "returned": "退回", "assigned": "指派",
            "answered": "反馈", "closed": "办结", "reminder": "督办提醒", "escalation": "督办上报",
            "undelivered": "未能送达"}
ESCALATION_ZH = {1: "已督办提醒", 2: "已上报区领导"}
STATE_COLOUR = {"sent": "#2f80ed", "received": "#2d9cdb", "accepted": "#9b51e0", "assigned": "#f2994a",
                "answered": "#27ae60", "returned": "#828282", "closed": "#bdbdbd", "overdue": "#eb5757"}
PERSONAL_ZH = {"name": "姓名", "id_number": "身份证号", "phone": "电话", "address": "住址"}
ACTIONS = ("accept", "return", "assign", "answer", "close")


def _id(name: str) -> str:
    return f"assist-{name}"


def district_options(own: str | None) -> list[dict[str, str]]:
    """The sixteen districts (not the city, not one's own) for the 'to district' dropdown."""
    return [{"label": n, "value": c} for c, n in DISTRICTS.items() if c not in (CITY, own)]


def badge(item: dict[str, Any]) -> Any:
    return html.Span(item["state_zh"], className=f"assist-state state-{item['state']}",
                     style={"background": STATE_COLOUR[item["state"]]})


def overdue_flag(item: dict[str, Any]) -> Any:
    if not item["overdue"]:
        return ""
    level = ESCALATION_ZH.get(item["escalation_level"])
    return html.Span("已超期" + (f"（{level}）" if level else ""), className="assist-overdue")


def _row(item: dict[str, Any], selected: int | None) -> Any:
    return html.Tr([
        html.Td(html.Button(item["request_no"], id={"type": _id("open"), "id": item["id"]}, className="link-button")),
        html.Td(DIRECTION_ZH[item["direction"]]), html.Td(item["from_name"]), html.Td(item["to_name"]),
        html.Td(SUBJECT_ZH.get(item["subject_kind"], "其他")), html.Td(item["reason"], className="assist-reason"),
        html.Td(beijing.minute(item["deadline"]), className="when"), html.Td(badge(item)),
        html.Td(overdue_flag(item)),
    ], className="selected" if item["id"] == selected else None)


def request_list(page: dict[str, Any], selected: int | None) -> Any:
    if not page["items"]:
        return html.P("暂无协查请求", className="assist-empty")
    head = html.Tr([html.Th(h) for h in ("编号", "方向", "发起区", "协查区", "对象", "事由", "期限", "状态", "超期")])
    return html.Div([html.P(f"共 {page['total']} 项"),
                     html.Table([html.Thead(head), html.Tbody([_row(i, selected) for i in page["items"]])],
                                className="assist-table")])


def _fact(label: str, value: Any) -> Any:
    return html.Tr([html.Th(label), html.Td(value if value not in (None, "", []) else "—")])


def _place(d: dict[str, Any]) -> str:
    point = d["place"]
    where = f"（经度 {point['lon']:.5f}，纬度 {point['lat']:.5f}）" if point else ""
    return f"{d['place_name'] or ''}{where}"


def _attachments(items: list[dict[str, Any]]) -> Any:
    if not items:
        return None
    return html.Ul([html.Li(f"{a['name']} · {a['size']} 字节 · 校验值 {a['sha256'][:12]}…") for a in items])


def facts_table(d: dict[str, Any]) -> Any:
    return html.Table([html.Tbody([
        _fact("方向", DIRECTION_ZH[d["direction"]]), _fact("发起区", d["from_name"]), _fact("协查区", d["to_name"]),
        _fact("对象类型", SUBJECT_ZH.get(d["subject_kind"], "其他")), _fact("事由", d["reason"]),
        _fact("核查事项", html.Ol([html.Li(f) for f in d["facts"]])), _fact("地点", _place(d)),
        _fact("期限", beijing.minute(d["deadline"])), _fact("承办人", d["assignee"]),
        _fact("核查结果", d["findings"]), _fact("附件", _attachments(d["attachments"])),
    ])], className="assist-facts")


def personal_block(d: dict[str, Any]) -> Any:
    if d["personal"]:
        rows = [_fact(PERSONAL_ZH[k], v) for k, v in d["personal"].items() if k in PERSONAL_ZH]
        return html.Div([html.Table(html.Tbody(rows), className="assist-facts"),
                         html.P("查看个人信息已记入审计日志", className="assist-hint")], id=_id("personal"))
    text = "个人信息已加密保存，仅本区有查看权限的人员可见" if d["personal_masked"] else "未附个人信息"
    return html.P(text, className="assist-hint", id=_id("personal"))


def _event_line(e: dict[str, Any]) -> Any:
    what = EVENT_ZH.get(e["kind"], "办理")
    if e["to_state"] and e["from_state"] and e["from_state"] != e["to_state"]:
        what += f"：{STATE_ZH.get(e['from_state'], '—')} → {STATE_ZH.get(e['to_state'], '—')}"
    district, actor = name_of(e["district_code"]), e["actor_name"] or "系统"
    who = actor if actor.startswith(district) else f"{district} · {actor}"  # actors are named '<区> <用户>'
    return html.Li([html.Span(beijing.minute(e["at"]), className="when"), f" {who} · {what}",
                    html.Div(e["note"], className="assist-note") if e["note"] else None],
                   className=f"ev-{e['kind']}")


def timeline(events: list[dict[str, Any]]) -> Any:
    return html.Ul([_event_line(e) for e in events], className="assist-timeline", id=_id("timeline"))


def _row_of(action: str, allowed: list[str], *children: Any) -> Any:
    return html.Div(list(children), className="assist-action-row", hidden=action not in allowed)


def actions_block(allowed: list[str]) -> Any:
    """Every action's controls (hidden unless this user, on this side, may take it now)."""
    return html.Div([
        html.H3("办理"),
        html.P("当前无可办理的操作", className="assist-hint") if not allowed else None,
        _row_of("accept", allowed, dcc.Input(id=_id("accept-note"), placeholder="受理说明（可选）", maxLength=1000),
                html.Button("受理", id=_id("accept"), className="assist-btn primary")),
        _row_of("return", allowed, dcc.Input(id=_id("return-reason"), placeholder="退回原因", maxLength=1000),
                html.Button("退回", id=_id("return"), className="assist-btn")),
        _row_of("assign", allowed, dcc.Input(id=_id("assignee"), placeholder="承办人或承办队伍", maxLength=100),
                dcc.Input(id=_id("assign-note"), placeholder="指派说明（可选）", maxLength=1000),
                html.Button("指派", id=_id("assign"), className="assist-btn primary")),
        _row_of("answer", allowed,
                dcc.Textarea(id=_id("findings"), placeholder="核查结果", maxLength=4000),
                dcc.Textarea(id=_id("attachments"), placeholder="附件信息，每行一个：文件名, 大小（字节）, 校验值",
                             maxLength=4000),
                html.Button("反馈", id=_id("answer"), className="assist-btn primary")),
        _row_of("close", allowed, dcc.Input(id=_id("close-note"), placeholder="办结说明（可选）", maxLength=1000),
                html.Button("办结", id=_id("close"), className="assist-btn primary")),
    ], className="assist-actions")


def detail(d: dict[str, Any]) -> Any:
    return html.Div([
        html.H2(d["request_no"]),
        html.Div([badge(d), " ", overdue_flag(d)], className="assist-head"),
        facts_table(d),
        html.H3("个人信息"), personal_block(d),
        actions_block(d["actions"]),
        html.H3("时间线"), timeline(d["events"]),
    ])
