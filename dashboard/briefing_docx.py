"""`/reports/briefing.docx?date=…&period=day|week`: the briefing as a Word file (title, summary, tables).

Authenticated, scoped and audited like the printable page; built from the same figures (layers/briefing.py).
"""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from flask import Blueprint, Response, abort, request
from pydantic import ValidationError

from accounts.scope import ScopeError
from dashboard import briefing_fieldwork
from dashboard.audit_trail import audit_denied, audit_read
from dashboard.auth import current_principal
from dashboard.read_routing import read_only
from dashboard.reports import BriefingQuery  # the page's own query model: the same parameters and checks
from layers import briefing
from layers.base import LayerError, LayerFilters, today_cst
from layers.signals import signals_layer

bp = Blueprint("briefing_docx", __name__)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "SimSun"
QC_LABELS = (("incidence", "报告发病率(/10万)"), ("death_rate", "死亡率(/10万)"), ("cfr", "病死率(%)"),
             ("report_timeliness", "报告及时率(%)"), ("audit_timeliness", "审核及时率(%)"), ("completeness", "完整率(%)"))


def add_table(doc: Any, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=False):
            cell.text = text


def chinese_font(doc: Any) -> None:
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(11)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)


def _fieldwork(doc: Any, section: dict[str, Any]) -> None:
    """五、7-1-7: the district's aggregate, the events closed in the period and those in response."""
    doc.add_heading(f"五、{briefing_fieldwork.TITLE}", level=1)
    doc.add_paragraph(briefing_fieldwork.headline(section))
    add_table(doc, briefing_fieldwork.STEP_HEADER, briefing_fieldwork.step_rows(section))
    for caption, rows in briefing_fieldwork.event_tables(section):
        doc.add_paragraph(caption)
        add_table(doc, briefing_fieldwork.EVENT_HEADER, rows or [["无", "", "", "", "", ""]])


def build_docx(title: str, subtitle: str, data: dict[str, Any]) -> bytes:
    """The Word document of one briefing."""
    doc = Document()
    chinese_font(doc)
    doc.add_heading(title, level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(subtitle).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("摘要", level=1)
    for paragraph in data["summary"]:
        doc.add_paragraph(paragraph)
    fig, k, words = data["fig"], data["k"], data["words"]
    doc.add_heading("一、病例报告概况", level=1)
    add_table(doc, ["指标", "病例数", "同比"], [
        [f"{words.this}报告", briefing.fmt_count(fig["cases"]), briefing.fmt_change(fig["yoy_pct"])],
        [f"{words.previous}报告", briefing.fmt_count(fig["previous"]), "—"],
        ["近28天", briefing.fmt_count(k["days28"]["cases"]), briefing.fmt_change(k["days28"]["yoy_pct"])],
        ["活动预警信号", briefing.fmt_count(fig["signals_open"]), f"待核实 {fig['signals_pending']}"]])
    doc.add_heading("二、主要病种（按发病日期）", level=1)
    add_table(doc, ["序号", "病种", "类别", "病例数", "发病率（/10万）"],
              [[str(i), r["name"], r["klass"], briefing.fmt_count(r["cases"]), briefing.fmt_rate(r["rate"])]
               for i, r in enumerate(data["top"], 1)] or [["—", "期间内无病例", "", "", ""]])
    doc.add_heading("三、报告质量", level=1)
    add_table(doc, [label for _, label in QC_LABELS], [[briefing.fmt_rate(data["q"]["values"][key])
                                                         for key, _ in QC_LABELS]])
    doc.add_heading("四、预警事件", level=1)
    add_table(doc, ["等级", "事件", "模型", "状态", "观测/阈值"],
              [[s.get("grade_zh") or "", s["title"], s["model_zh"], s["state_zh"],
                f"{briefing.fmt_number(s['observed'])} / {briefing.fmt_number(s['threshold'])}"]
               for s in data["signals"]] or [["统计期内无活动预警事件", "", "", "", ""]])
    if data.get("fieldwork") is not None:
        _fieldwork(doc, data["fieldwork"])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _error(status: int, message: str) -> Response:
    return Response(message, status, mimetype="text/plain")


@bp.get("/reports/briefing.docx")
def briefing_docx() -> Any:
    principal = current_principal()
    if principal is None:
        abort(401)
    try:
        q = BriefingQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        why = (err.get("ctx") or {}).get("message_zh") or err["msg"]
        return _error(422, f"参数不合法：{'.'.join(str(p) for p in err['loc'])}（{why}）")
    end = q.date or today_cst()
    since = end - timedelta(days=briefing.PERIODS[q.period].days - 1)
    filters = LayerFilters(since=since, until=end, region=q.region, disease=q.disease)
    try:
        with read_only() as session:
            sig = signals_layer(session, principal, filters)
            data = briefing.collect(session, principal, filters, q.period, sig["features"])
            data["fieldwork"] = briefing_fieldwork.collect(session, principal, since, end)
    except ScopeError as exc:
        audit_denied(principal, "scope.denied", object_type="briefing", object_id=request.path,
                     detail={"query": request.args.to_dict(), "reason": str(exc)})
        return _error(403, "超出当前账号的数据范围")
    except LayerError as exc:
        return _error(exc.status, exc.message_zh)
    audit_read(principal, "case.read", object_type="briefing", object_id=f"{q.period}.docx",
               filters={"since": since.isoformat(), "until": end.isoformat(), "region": q.region, "disease": q.disease})
    title = briefing.title(data["fig"]["area"], q.period, end)
    body = build_docx(title, f"{data['fig']['area']} · 统计期 {since} 至 {end}", data)
    filename = f"briefing-{q.period}-{end.isoformat()}.docx"
    return Response(body, mimetype=DOCX_MIME, headers={
        "Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})
