"""The grade badge of a warning event and the table of the alarms it fused, as every page shows them."""
from __future__ import annotations

from typing import Any

from dash import html

from store.grades import grade_props
from store.labels import model_name


def grade_badge(item: dict[str, Any]) -> Any:
    """A coloured badge '红色预警' … for an event (from its `grade`), nothing for an ungraded row."""
    props = grade_props(item.get("grade"))
    if not props["grade_zh"]:
        return None
    return html.Span(props["grade_zh"], className=f"grade-badge grade-{props['grade']}", title="预警等级",
                     style={"background": props["grade_color"], "color": props["grade_text_color"],
                            "borderRadius": "3px", "padding": "0 6px", "whiteSpace": "nowrap"})


def _n(v: Any) -> str:
    if v is None:
        return "—"
    return f"{float(v):g}" if float(v).is_integer() else f"{float(v):.1f}"


def alarm_table(alarms: list[dict[str, Any]]) -> Any:
    """The alarms behind an event: model, place, day, observed / expected."""
    if not alarms:
        return html.P("暂无关联的模型报警", className="empty")
    head = html.Tr([html.Th(h) for h in ("模型", "地点", "日期", "观察值", "期望值")])
    body = [html.Tr([html.Td(a.get("model_zh") or ""), html.Td(a.get("region_name") or a.get("region_code") or "—"),
                     html.Td(a.get("day") or "—"), html.Td(_n(a.get("observed"))), html.Td(_n(a.get("expected")))])
            for a in alarms]
    return html.Table([html.Thead(head), html.Tbody(body)], className="table alarm-table")


def detail_alarms(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """`alerting.service.signal_detail`'s alarms as `alarm_table` rows (expected from the event's fusion facts)."""
    facts = {f.get("alarm_id"): f for f in (((detail.get("evidence") or {}).get("fusion") or {}).get("facts") or [])}
    out = []
    for a in detail.get("alarms") or []:
        end = a.get("window_end")
        out.append({"model_zh": model_name(a.get("model")), "region_name": a.get("region_name") or a.get("region_code"),
                    "day": end.isoformat() if hasattr(end, "isoformat") else end, "observed": a.get("observed"),
                    "expected": (facts.get(a.get("id")) or {}).get("expected")})
    return out
