"""Display of warning-event grades (预警等级): the Chinese name and the colour of each grade, one place for all.

The map layers, the lists, the briefing and the pages show an event's grade as a badge with these; the
grade codes are `store.signals.GRADES` (blue < yellow < orange < red).
"""
from __future__ import annotations

from typing import Any

GRADE_NAME_ZH: dict[str, str] = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
GRADE_SHORT_ZH: dict[str, str] = {"blue": "蓝", "yellow": "黄", "orange": "橙", "red": "红"}
GRADE_COLOR: dict[str, str] = {"blue": "#4575b4", "yellow": "#fed976", "orange": "#fc8d59", "red": "#d7301f"}
# text on the badge: dark on the light yellow, white on the others (contrast)
GRADE_TEXT_COLOR: dict[str, str] = {"blue": "#ffffff", "yellow": "#3a2f00", "orange": "#2b1200", "red": "#ffffff"}
UNGRADED_COLOR = "#9e9e9e"


def grade_label(grade: str | None) -> str:
    """'红色预警' … for a grade, '' for none (a raw alarm or an ungraded city signal)."""
    return f"{GRADE_NAME_ZH[grade]}预警" if grade in GRADE_NAME_ZH else ""


def grade_props(grade: str | None) -> dict[str, Any]:
    """The grade fields every list and map feature carries: code, Chinese label, badge colours."""
    return {"grade": grade, "grade_zh": grade_label(grade), "grade_color": GRADE_COLOR.get(grade or "", UNGRADED_COLOR),
            "grade_text_color": GRADE_TEXT_COLOR.get(grade or "", "#ffffff")}
