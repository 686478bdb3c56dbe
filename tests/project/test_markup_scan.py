"""Issue #14 finding 5: stored text becomes tooltip / label markup only through dashboard/markup.py."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from dashboard import markup
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
PAYLOADS = ("<img src=x onerror=window.__xss=1>", "<svg onload=window.__xss=1>", "\"'><script>x</script>&amp;")


class _Tags(HTMLParser):
    """Every start tag of an HTML fragment, and the text it shows."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.feed(fragment)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tooltip_escapes_title_and_every_piece(payload: str) -> None:
    html = markup.tooltip(payload, (payload, None, "", 3), payload, markup.strong("已逾期"), None)
    parsed = _Tags(html)
    assert parsed.tags == ["b", "br", "br", "br", "b"]
    assert parsed.text == f"{payload}{payload} · 3{payload}已逾期"


def test_block_and_fragment_escape_arguments_not_the_template() -> None:
    assert _Tags(markup.block(PAYLOADS[1], cls="map-label")).tags == ["div"]
    out = markup.fragment('<p title="{}">{}</p>', '"><img src=x>', PAYLOADS[0])
    assert _Tags(out).tags == ["p"]
    assert 'title="&#34;&gt;&lt;img src=x&gt;"' in out


def _feature_props(payload: str) -> dict[str, object]:
    return {"name": payload, "title": payload, "source": payload, "kind_zh": payload, "published_at": payload,
            "ill_rate_permille": 1.5, "sales_index": 120, "type_zh": payload, "state_zh": payload, "progress": 40,
            "overdue": True, "items": [{"item_name": payload, "quantity": 5.0, "min_level": 10.0, "unit": payload,
                                        "below_min": True}]}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_page_tooltips_make_no_element_from_stored_text(payload: str) -> None:
    from dashboard.pages import command_view, monitor_layout

    props = _feature_props(payload)
    built = [fmt(props) for _, _, fmt in monitor_layout.FEED_LAYERS]
    built += [command_view.site_tooltip(props), command_view.task_tooltip(props)]
    for html in built:
        assert set(_Tags(html).tags) <= {"b", "br"}, html
        assert payload in _Tags(html).text


def test_briefing_map_keeps_stored_text_out_of_script_code(app) -> None:  # type: ignore[no-untyped-def]
    """folium pastes Tooltip text into a JS template literal: `${…}` in a title would run as script."""
    from dashboard.reports import _map, folium_parts  # noqa: PLC2701

    evil = "ZZX${window.__xss=1}<img src=x onerror=window.__xss=1>"
    square = [[[121.3, 31.0], [121.4, 31.0], [121.4, 31.1], [121.3, 31.1], [121.3, 31.0]]]
    choro = {"type": "FeatureCollection", "level": "street", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": square},
        "properties": {"name": evil, "cases": 1, "rate": 1.0, "color": "#fff", "label": [121.35, 31.05]}}]}
    signals = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [121.35, 31.05]},
        "properties": {"title": evil}}]}
    with app.app_context():  # the map reads the configured basemap
        _, body, script = folium_parts(_map(choro, signals))
    assert "ZZX" not in body
    literals = re.findall(r"`[^`]*`", script)
    assert literals, "folium's tooltip template changed; check how it inserts text"
    assert not [lit for lit in literals if "ZZX" in lit]
    assert "<img" not in script  # the text is only data: JSON strings, with < and > escaped


def test_no_page_builds_markup_with_string_formatting() -> None:
    """Pages, components and the briefing write no tag with f-strings, % or +; only dashboard/markup.py does."""
    files = [*sorted((ROOT / "dashboard" / "pages").glob("*.py")),
             *sorted((ROOT / "dashboard" / "components").glob("*.py")), ROOT / "dashboard" / "reports.py"]
    pattern = re.compile(r"""(f["'][^"'\n]*<[a-z/!]|["'][^"'\n]*<[a-z][^"'\n]*["']\s*(\+|%|\.format\())""", re.I)
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in files
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_scripts_never_assign_html_outside_the_shared_escaper() -> None:
    scripts = [p for p in sorted((ROOT / "assets").glob("*.js")) if p.name != "markup.js"]
    assert scripts
    pattern = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|function esc\(s\) \{\s*$")
    found = [f"{p.name}:{n}" for p in scripts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []
