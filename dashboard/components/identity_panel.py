"""查看身份信息 on a signal's evidence cases: purpose asked for, identity shown in clear, every view audited.

The Dash callback calls the domain function (accounts.pii_view.present_identity) directly, with the
same rules as `POST /api/v1/cases/<id>/identity`: purpose 4–200 characters, 30 views a minute per
user, `pii.view` audit row with the purpose; masked roles see the button disabled with the reason
and are refused (audited as `pii.denied`) if they call the callback anyway.
"""
from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import ValidationError

from accounts import audit
from accounts.pii_view import PiiAccessDenied, present_identity
from accounts.principal import Principal
from accounts.scope import ScopeError
from dashboard.api.identity import IDENTITY_LIMIT, IdentityRequest
from dashboard.audit_trail import audit_denied
from dashboard.auth import current_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from store.cases import CaseReport

NO_RIGHT = "需有个人信息查看权限"
PURPOSE_INVALID = "用途须为 4–200 个字符的文字说明"
NOT_FOUND = "病例不存在"
LABELS = (("name", "姓名"), ("id_number", "身份证号"), ("phone", "联系电话"), ("address", "现住址"))
SHOWN = 20


def _id(name: str) -> str:
    return f"sig-id-{name}"


def _case_row(case: dict[str, Any], allowed: bool) -> Any:
    button = html.Button("查看身份信息", id={"type": _id("open"), "case": int(case["id"])}, n_clicks=0,
                         className="btn btn-small", disabled=not allowed, title=None if allowed else NO_RIGHT)
    return html.Tr([html.Td(str(case["id"])), html.Td(case.get("onset_date") or ""),
                    html.Td(case.get("report_date") or ""), html.Td(button)])


def _form() -> Any:
    return html.Div([
        html.Label(["查看用途（4–200 字，记入审计）",
                    dcc.Input(id=_id("purpose"), type="text", minLength=4, maxLength=200, debounce=False,
                              placeholder="例如：流调电话回访", style={"width": "100%"})]),
        html.Button("确认查看", id=_id("submit"), n_clicks=0, className="btn"),
        html.Button("取消", id=_id("cancel"), n_clicks=0, className="btn"),
    ], id=_id("form"), className="sig-id-form", style={"display": "none"})


def case_list(cases: list[dict[str, Any]], principal: Principal) -> Any:
    """The evidence cases (first 20) with a 查看身份信息 button each; disabled with the reason for masked roles."""
    if not cases:
        return None
    allowed = principal.can_unmask_pii
    head = html.Tr([html.Th(h) for h in ("报告卡编号", "发病日期", "报告日期", "")])
    return html.Div([
        html.H3(f"聚集病例 {len(cases)} 例" + (f"（显示前 {SHOWN} 例）" if len(cases) > SHOWN else "")),
        None if allowed else html.P(f"查看身份信息：{NO_RIGHT}", className="sig-hint", id=_id("no-right")),
        html.Table([html.Thead(head), html.Tbody([_case_row(c, allowed) for c in cases[:SHOWN]])],
                   className="table", id=_id("cases")),
        dcc.Store(id=_id("case"), data=None),
        _form(),
        html.Div(id=_id("result"), role="status"),
    ], className="sig-id")


def _purpose(value: str | None) -> str | None:
    try:
        return IdentityRequest(purpose=value or "").purpose
    except ValidationError:
        return None


def reveal(case_id: int, purpose: str | None) -> dict[str, Any] | str:
    """The case's identity in clear for the logged-in user (audited with `purpose`), or a Chinese message why not."""
    principal = current_principal()
    if principal is None:
        return "需要登录"
    clean = _purpose(purpose)
    if clean is None:
        return PURPOSE_INVALID
    from dashboard.security_headers import hit_limit  # the limiter lives with the other web hardening

    try:
        hit_limit("identity", IDENTITY_LIMIT, f"user:{principal.user_id}")
    except ApiError as exc:
        return exc.message_zh
    svc = services()
    if svc.cipher is None:
        return "未配置个人信息密钥"
    with svc.session_factory() as db:
        case = db.get(CaseReport, case_id)
        if case is None:
            return NOT_FOUND
        try:
            shown = present_identity(db, case=case, cipher=svc.cipher, principal=principal, clear=True,
                                     purpose=clean, ip=audit.client_address())
        except ScopeError:
            audit_denied(principal, "scope.denied", object_type="case_report", object_id=str(case_id),
                         district_code=case.district_code, detail={"request": "identity"})
            return NOT_FOUND
        except PiiAccessDenied:
            audit_denied(principal, "pii.denied", object_type="case_report", object_id=str(case_id),
                         district_code=case.district_code, detail={"purpose": clean})
            return NO_RIGHT
        db.commit()
    return {"case_id": case_id, "purpose": clean, **{k: shown.get(k) for k, _ in LABELS}}


def identity_view(answer: dict[str, Any] | str) -> Any:
    """The shown identity as a small definition list, or the message."""
    if isinstance(answer, str):
        return html.P(answer, className="sig-notice", role="alert")
    rows = []
    for key, label in LABELS:
        rows += [html.Dt(label), html.Dd(answer.get(key) or "—")]
    return html.Div([html.P(f"报告卡 {answer['case_id']} 的身份信息（用途「{answer['purpose']}」已记入审计）"),
                     html.Dl(rows, className="sig-id-fields")], className="sig-id-shown")


def register(dash_app: Dash) -> None:
    @dash_app.callback(Output(_id("case"), "data"), Output(_id("form"), "style"), Output(_id("result"), "children"),
                       Input({"type": _id("open"), "case": ALL}, "n_clicks"), Input(_id("cancel"), "n_clicks"),
                       prevent_initial_call=True)
    def _open(clicks: list[int], _cancel: int) -> Any:
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and any(clicks or []):
            return int(trigger["case"]), {"display": "block"}, None
        if trigger == _id("cancel"):
            return None, {"display": "none"}, None
        return no_update, no_update, no_update

    @dash_app.callback(Output(_id("result"), "children", allow_duplicate=True),
                       Input(_id("submit"), "n_clicks"), State(_id("purpose"), "value"), State(_id("case"), "data"),
                       prevent_initial_call=True)
    def _submit(clicks: int, purpose: str | None, case_id: int | None) -> Any:
        if not clicks or not case_id:
            return no_update
        return identity_view(reveal(int(case_id), purpose))
