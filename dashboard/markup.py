"""The one place where stored text becomes tooltip / popup / label HTML (issue #14, finding 5).

Leaflet puts a tooltip or popup string into the page as HTML (dash-leaflet binds a feature's
`properties.tooltip` and `properties.popup` that way, folium does the same). Names and titles come
from users, imports and other departments' feeds, so none of them may ever reach such a string
unescaped. Pages never build these strings with f-strings or concatenation; they call `tooltip()`,
which escapes every piece with markupsafe and adds only its own `<b>` and `<br>` tags.

    tooltip(p["title"], [p["status_zh"], f"进度 {p['progress']}%"], strong("已逾期"))
    → '<b>&lt;img …&gt;</b><br>处置中 · 进度 40%<br><b>已逾期</b>'
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from markupsafe import Markup, escape

SEP = " · "
Piece: TypeAlias = str | int | float | Markup | None
Line: TypeAlias = Piece | Sequence[Piece]


def text(value: object) -> Markup:
    """`value` as text inside HTML: every `<`, `>`, `&`, quote escaped; None becomes an empty string."""
    return escape("" if value is None else value)


def strong(value: object) -> Markup:
    """`value` in bold."""
    return Markup("<b>{}</b>").format("" if value is None else value)


def line(parts: Line, *, sep: str = SEP) -> Markup:
    """One tooltip line: a single piece, or pieces joined with `sep` (empty pieces left out)."""
    if isinstance(parts, (list, tuple)):
        return Markup(escape(sep)).join(text(p) for p in parts if p is not None and p != "")
    return text(parts)


def tooltip(title: object | None, *lines: Line) -> str:
    """A bold title (if any) and then `lines`, one per row; every piece is escaped exactly once."""
    rows: list[Markup] = [strong(title)] if title is not None else []
    rows.extend(line(item) for item in lines if item is not None)
    return str(Markup("<br>").join(rows))


def block(value: object, *, cls: str) -> str:
    """`value` as the text of a `<div class="cls">` (map labels drawn as Leaflet div icons)."""
    return str(Markup('<div class="{}">{}</div>').format(cls, "" if value is None else value))


def fragment(template: str, *args: object, **kwargs: object) -> Markup:
    """A constant markup `template` (str.format syntax, written in code, never data) with every argument escaped."""
    return Markup(template).format(*args, **kwargs)


def join(parts: Iterable[str], sep: str = "") -> Markup:
    """Markup pieces joined; plain strings among them are escaped."""
    return Markup(sep).join(parts)
