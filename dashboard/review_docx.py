"""The finished review of a warning event as a Word document (python-docx, as dashboard/briefing_docx.py):
event, 处置说明, 评价 with the 7-1-7 figures, effectiveness, lessons, 复核 verdict, who and when (Beijing time)."""
from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from dashboard.briefing_docx import add_table, chinese_font
from geo import beijing

MET_ZH = {True: "达标", False: "未达标", None: "未判定"}


def _days(value: int | None) -> str:
    return "—" if value is None else f"{value} 天"


def timeliness_rows(timeliness: dict[str, Any]) -> list[list[str]]:
    return [[s["label_zh"], s.get("start") or "—", s.get("end") or "—", _days(s.get("days")),
             f"≤{s['target_days']} 天", MET_ZH[s.get("met")]] for s in timeliness.get("steps") or []]


def build_review_docx(report: dict[str, Any]) -> bytes:
    """The Word document of one finished review (`fieldwork.review_report.review_report`)."""
    doc = Document()
    chinese_font(doc)
    event = report["event"]
    doc.add_heading(f"预警事件处置复盘报告：{event['title']}", level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"事件编号 #{event['id']} · 发现于 {beijing.minute(event['first_fired_at'])}"
                      ).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("一、处置说明", level=1)
    doc.add_paragraph(report["summary"])
    doc.add_paragraph(f"结案：{report['closed_by']}，{beijing.minute(report['closed_at'])}")
    doc.add_heading("二、评价", level=1)
    doc.add_paragraph("7-1-7 时效（评价时计算）：")
    add_table(doc, ["环节", "起", "止", "用时", "目标", "结果"],
              timeliness_rows(report["timeliness"]) or [["—", "", "", "", "", ""]])
    doc.add_paragraph(f"处置效果：{report['effectiveness'] or '—'}")
    doc.add_paragraph(f"经验教训：{report['lessons'] or '—'}")
    doc.add_paragraph(f"评价：{report['evaluated_by']}，{beijing.minute(report['evaluated_at'])}")
    doc.add_heading("三、复核", level=1)
    doc.add_paragraph("复核结论：同意闭环" + (f"（{report['review_note']}）" if report["review_note"] else ""))
    doc.add_paragraph(f"复核：{report['reviewed_by']}，{beijing.minute(report['reviewed_at'])}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
