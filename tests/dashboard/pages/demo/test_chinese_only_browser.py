"""Issue #15 item 8: no English and no codes in the UI — every visible word is Chinese or on the allow-list.

Each page is walked in Chromium (browser locale en-US, zone Los Angeles): the visible text, the placeholders
of inputs and dropdowns, and the tick labels of every chart. Plus the pieces that say things only on error:
form validation messages, model names, timeline labels.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tests.dashboard.pages.demo.browser_pages import Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)

# Units, model acronyms, standards and codes (GB/T, N95, PM2.5), file formats offered for download or upload,
# and the attribution the licences require.
ALLOWED = {"km", "h", "m", "kg", "mm", "EARS", "C", "CUSUM", "Farrington", "Rt", "ILI", "SARI", "GB", "T", "OneMap", "PM",
           "N", "AQI", "SM", "H", "CSV", "PDF", "Word", "OpenStreetMap", "contributors", "geoBoundaries"}
LATIN = re.compile(r"[A-Za-z]+")
WALK = """() => {
  const out = [document.body.innerText];
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(e => out.push(e.placeholder));
  document.querySelectorAll('.Select-placeholder, .Select-value-label, [class*="placeholder"]')
    .forEach(e => out.push(e.textContent));
  document.querySelectorAll('.xtick text, .ytick text, .legendtext, .g-xtitle, .g-ytitle')
    .forEach(e => out.push(e.textContent));
  return out.join('\\n');
}"""
PAGES = [  # (user, path, ready selector, screenshot)
    ("cn_analyst", "/monitor", "#mon-signal-list", "h7_zh_monitor.png"),
    ("cn_analyst", "/monitor?wall=1&rotate=0", ".wall #mon-signal-list", "h7_zh_monitor_wall.png"),
    ("cn_commander", "/command", "#cmd-page", "h7_zh_command.png"),
    ("cn_commander", "/command?wall=1&rotate=0", "#cmd-page", "h7_zh_command_wall.png"),
    ("cn_analyst", "/signals", ".sig-list table", "h7_zh_signals.png"),
    ("cn_commander", "/tasks", ".tasks-table", "h7_zh_tasks.png"),
    ("cn_analyst", "/reports/briefing?period=week", "main", "h7_zh_briefing.png"),
    ("cn_commander", "/exchange", "#exch-status", "h7_zh_exchange.png"),
    ("cn_commander", "/assists", "#assist-list", "h7_zh_assists.png"),
]


def latin_words(text: str) -> list[str]:
    """Latin words in `text` that are not on the allow-list."""
    return sorted({w for w in LATIN.findall(text) if w not in ALLOWED})


def test_latin_word_finder_finds_english_and_passes_allowed_words():
    assert latin_words("Start Date 开始日期 EARS-C3 CUSUM 12 km/h") == ["Date", "Start"]
    assert latin_words("Value error, give exactly one of") == ["Value", "error", "exactly", "give", "of", "one"]


@pytest.mark.parametrize("user, path, ready, shot", PAGES, ids=[p[1] for p in PAGES])
def test_page_shows_no_latin_words(app, server, browser, user, path, ready, shot):
    s = Screen(browser, server, demo_cookie(app, user))
    try:
        page = s.open(path, ready)
        page.wait_for_timeout(1500)  # charts and lists fill in after the first render
        # dash-leaflet shows a hard-coded "Loading..." while a lazily loaded map control arrives; what we
        # judge is the page once loaded (if the fallback stays, the walk below reports it)
        page.wait_for_function("() => !document.body.innerText.includes('Loading...')", timeout=30000) \
            if "Loading..." in page.evaluate("() => document.body.innerText") else None
        words = latin_words(page.evaluate(WALK))
        s.shot(shot)
        assert words == [], f"{path}: {words}"
    finally:
        s.close()


def test_chart_axes_use_the_chinese_locale(app, server, browser):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open("/monitor", "#mon-epicurve .xtick text")
        ticks = page.evaluate("() => [...document.querySelectorAll('#mon-epicurve .xtick text')].map(e => e.textContent)")
        assert ticks and all(re.fullmatch(r"\d\d-\d\d", t) for t in ticks), ticks
        locale = page.evaluate("() => document.getElementById('mon-epicurve')"
                               ".querySelector('.js-plotly-plot')._context.locale")
        assert locale == "zh-CN"
    finally:
        s.close()


# ---------------------------------------------------------------- what is shown only when something goes wrong


def test_subtask_validation_error_is_shown_in_chinese():
    from dashboard.form_errors import describe
    from dispatch.models import SubtaskSpec
    from geo.dates import frozen_now

    with frozen_now(datetime(2026, 11, 5, 8, tzinfo=UTC)), pytest.raises(ValidationError) as info:
        SubtaskSpec.model_validate({"title": "采样", "type": None, "deadline": "2026-11-05T18:00:00+08:00",
                                    "assignee_institution_id": None, "assignee_team_id": None})
    text = describe(info.value)
    assert text == "输入有误：请选择一个承办机构或承办队伍（只能选一个）"
    assert latin_words(text) == []


@pytest.mark.parametrize("body", [{"title": "", "deadline": None}, {"title": "x" * 300, "deadline": None},
                                  {"title": "采样", "deadline": "明天"}, {"title": "采样", "deadline": None,
                                                                        "assignee_team_id": "一"},
                                  {"title": "采样", "deadline": "2040-01-01T00:00:00+08:00"}])
def test_every_form_error_reads_chinese(body):
    from dashboard.form_errors import describe
    from dispatch.models import SubtaskSpec
    from geo.dates import frozen_now

    with frozen_now(datetime(2026, 11, 5, 8, tzinfo=UTC)), pytest.raises(ValidationError) as info:
        SubtaskSpec.model_validate({"type": None, "assignee_institution_id": None, "assignee_team_id": None, **body})
    assert latin_words(describe(info.value)) == [], describe(info.value)


def test_one_display_name_per_model_everywhere():
    from alerting.explain import explain
    from alerting.schemas import MODEL_ZH as ALERTING_NAMES
    from layers.signals import _feature  # noqa: F401  (imports: layers uses the same table)
    from store.labels import MODEL_ZH, model_name

    assert ALERTING_NAMES is MODEL_ZH
    assert model_name("ears_c3") == model_name("EARS-C3") == model_name("ears", "C3") == "EARS-C3"
    assert model_name("cusum") == "CUSUM" and model_name("moving_percentile") == "移动百分位法"
    assert model_name("space_time_permutation") == model_name("scan") == "时空重排扫描"
    sig: dict[str, Any] = {"evidence": {"alarm_day": "2026-11-05"}, "params": {"method": "C3"}}
    for code in ("single_case", "count_threshold", "moving_percentile", "ears_c3", "cusum"):
        assert explain({**sig, "model": code}).startswith(model_name(code) + "："), code
    assert "累积和" not in explain({**sig, "model": "cusum"}).split("：")[0]
    bare = explain({"model": "cusum", "evidence": {}, "params": {}})  # a signal without evidence fields
    assert "None" not in bare and set(latin_words(bare)) <= {"k"}  # k and h are the method's own symbols


def test_task_and_callback_events_have_chinese_labels():
    from store.labels import event_name

    assert event_name("task.state_changed") == "状态变更"
    assert event_name("split") == "分解"
    assert latin_words(event_name("task.something_new")) == []
