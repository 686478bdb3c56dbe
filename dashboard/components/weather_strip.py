"""A one-line weather strip (气象条) for the monitor page: a cell per day with temperature, humidity and rain."""
from __future__ import annotations

from typing import Any

from dash import html

RAIN_ZH = ((0.1, "无雨"), (10, "小雨"), (25, "中雨"), (50, "大雨"), (float("inf"), "暴雨"))


def rain_label(mm: float | None) -> str:
    """24-hour rainfall class of the national standard (GB/T 28592)."""
    if mm is None:
        return "—"
    return next(label for limit, label in RAIN_ZH if mm < limit)


def weather_strip(days: list[dict[str, Any]], *, title: str = "气象", strip_id: str = "weather-strip") -> html.Div:
    """Render the `days` of one district (layer `weather` → feature properties `days`), oldest first."""
    if not days:
        return html.Div([html.Span(title, className="ws-title"), html.Span("暂无气象数据", className="ws-empty")],
                        className="weather-strip", id=strip_id)
    cells = []
    for d in days:
        temp = f"{d['temp_min']:.0f}~{d['temp_max']:.0f}℃" if d.get("temp_min") is not None and \
            d.get("temp_max") is not None else f"{d['temp_mean']:.0f}℃"
        humidity = f"{d['humidity']:.0f}%" if d.get("humidity") is not None else "—"
        cells.append(html.Div([
            html.Div(d["day"][5:], className="ws-day"),
            html.Div(temp, className="ws-temp"),
            html.Div(f"湿度{humidity}", className="ws-humidity"),
            html.Div(rain_label(d.get("rainfall_mm")), className="ws-rain",
                     title=f"{d.get('rainfall_mm') or 0:.1f} mm"),
        ], className="ws-cell"))
    return html.Div([html.Span(title, className="ws-title"), html.Div(cells, className="ws-cells")],
                    className="weather-strip", id=strip_id)
