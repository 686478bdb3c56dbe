"""The field response on a warning event's page (/signals?id=…): its 7-1-7 steps, each 流调's progress, the
closed-loop review (with the Word download once reviewed) and a link to its 传播链 on /command.

Figures come from fieldwork.timeliness (over fieldwork.facts) and fieldwork.progress; nothing is recomputed
here. Counts only: no contact is named on this page.
"""
from __future__ import annotations

from typing import Any

from dash import dcc, html
from sqlalchemy import select

from accounts.principal import Principal
from dashboard.read_routing import read_only
from fieldwork.edits import load_event
from fieldwork.errors import FieldworkError
from fieldwork.facts import load_facts
from fieldwork.progress import OBSERVATION_DAYS, TRACE_HOURS, Progress, investigation_progress
from fieldwork.states import INVESTIGATION_STATUS_ZH, MILESTONE_ZH, REVIEW_STATE_ZH
from fieldwork.timeliness import STEP_ZH, Step, Timeliness, compute, day_of
from geo import beijing
from geo.dates import now_utc
from store.fieldwork import EventReview, Investigation

MET_ZH = {True: "达标", False: "未达标", None: "进行中"}


def _met(step: Step) -> Any:
    return html.Span(MET_ZH[step.met], className=f"fw-met fw-met-{str(step.met).lower()}")


def steps_table(t: Timeliness) -> Any:
    """The event's three 7-1-7 steps: from, to, days against the target, met / missed / pending."""
    rows = [html.Tr([html.Td(STEP_ZH[s.name]), html.Td(s.start.isoformat() if s.start else "—"),
                     html.Td(s.end.isoformat() if s.end else "—"),
                     html.Td("—" if s.days is None else f"{s.days} 天"), html.Td(f"≤{s.target} 天"), html.Td(_met(s))],
                    id=f"sig-717-{s.name}") for s in t.steps]
    head = html.Tr([html.Th(h) for h in ("环节", "起", "止", "用时", "目标", "结果")])
    missing = "、".join(MILESTONE_ZH[m] for m in t.missing_milestones)
    return html.Div([html.Table([html.Thead(head), html.Tbody(rows)], className="table", id="sig-717"),
                     html.P(f"尚未完成的早期响应节点：{missing}" if missing else "六项早期响应节点均已完成。",
                            className="sig-meta")])


def progress_table(investigations: list[tuple[int, str, str]], progress: dict[int, Progress]) -> Any:
    """One row per 流调: contacts listed, traced, to trace, under observation, become cases, overdue."""
    if not investigations:
        return html.P("该事件尚无流调记录。", className="sig-meta")
    head = html.Tr([html.Th(h) for h in ("流调", "状态", "密接", "已追踪", "待追踪", "医学观察", "转为病例", "逾期随访")])
    rows = []
    for iid, investigator, status in investigations:
        p = progress.get(iid, Progress(0, 0, 0, 0, 0, 0, 0, 0))
        overdue = f"{p.overdue}（追踪超时 {p.overdue_trace}，观察期满 {p.overdue_release}）" if p.overdue else "0"
        rows.append(html.Tr([html.Td(f"#{iid} {investigator}"), html.Td(INVESTIGATION_STATUS_ZH.get(status, status)),
                             *(html.Td(str(v)) for v in (p.contacts, p.traced, p.to_trace, p.observing, p.became_case)),
                             html.Td(overdue, className="bad" if p.overdue else None)], id=f"sig-fw-inv-{iid}"))
    note = f"逾期随访：待追踪超过{TRACE_HOURS}小时，或医学观察超过末次暴露后{OBSERVATION_DAYS}天仍未解除。"
    return html.Div([html.Table([html.Thead(head), html.Tbody(rows)], className="table", id="sig-fw-progress"),
                     html.P(note, className="sig-meta")])


def review_block(signal_id: int, review: EventReview | None) -> Any:
    if review is None:
        return html.P("闭环：尚未结案（结案时须填写处置说明）。", className="sig-meta", id="sig-review")
    parts: list[Any] = [f"闭环：{REVIEW_STATE_ZH[review.state]}（结案于 {beijing.minute(review.closed_at)}）"]
    if review.state == "reviewed":
        parts += ["　", html.A("下载复盘报告（Word）", href=f"/api/v1/fieldwork/events/{signal_id}/review.docx",
                               id="sig-review-docx", download="")]
    return html.P(parts, className="sig-meta", id="sig-review")


def section(signal_id: int, principal: Principal) -> list[Any]:
    """The event's field response for its page; nothing when the viewer may not see it."""
    now = now_utc()
    try:
        with read_only() as s:
            event = load_event(s, actor=principal, signal_id=signal_id)
            timeliness = compute(load_facts(s, event), day_of(now))
            invs = [(i.id, i.investigator, i.status) for i in s.scalars(
                select(Investigation).where(Investigation.signal_id == event.id).order_by(Investigation.id))]
            progress = investigation_progress(s, [i for i, _, _ in invs], now=now)
            review = s.scalar(select(EventReview).where(EventReview.signal_id == event.id))
            block = review_block(event.id, review)
    except FieldworkError:
        return []
    return [html.H3("7-1-7 时效"), steps_table(timeliness),
            html.H3("流调进展"), progress_table(invs, progress), block,
            html.P(dcc.Link("查看传播链（应急指挥一张图）", href=f"/command?event={signal_id}", id="sig-chain-link"))]
