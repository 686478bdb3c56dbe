"""Issue #15 item 8: the monitor's date picker speaks Chinese — month caption and weekday headers (一 … 日)."""
from __future__ import annotations

import re

from tests.dashboard.pages.demo.browser_pages import Screen, browser, demo_cookie, server  # noqa: F401  (fixtures)

WEEK_HEADERS = """() => [...document.querySelectorAll('.dash-datepicker-calendar')].slice(0, 1).flatMap(t =>
  [...t.querySelectorAll('thead th:not([colspan]) span')].map(s => ({
    own: parseFloat(getComputedStyle(s).fontSize),
    shown: getComputedStyle(s, '::after').content.replace(/"/g, ''),
  })))"""
# Whether the calendar is on top where its weekday row is drawn (not under the map's layer switcher).
ON_TOP = """() => [...document.querySelectorAll('.dash-datepicker-calendar thead th:not([colspan])')].every(th => {
  const r = th.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && th.closest('.dash-datepicker-content').contains(hit);
})"""
CAPTIONS = "() => [...document.querySelectorAll('.dash-datepicker-calendar-month-header')].map(e => e.innerText.trim())"


def test_date_picker_weekdays_and_months_are_chinese(app, server, browser):
    s = Screen(browser, server, demo_cookie(app, "cn_analyst"))
    try:
        page = s.open("/monitor", "#mon-dates")
        page.click("#mon-dates")
        page.wait_for_selector(".dash-datepicker-calendar thead th", state="visible", timeout=30000)
        headers = page.evaluate(WEEK_HEADERS)
        assert [h["shown"] for h in headers] == list("一二三四五六日"), headers
        assert all(h["own"] == 0 for h in headers), headers  # Dash's English "Mo".."Su" is not drawn
        assert page.evaluate(ON_TOP)  # the layer switcher, opened or not, stays under the open calendar
        captions = [c for c in page.evaluate(CAPTIONS) if c]
        assert captions and all(re.fullmatch(r"\d{4}年\d{1,2}月", c) for c in captions), captions
        s.shot("h7_zh_date_picker.png")
    finally:
        s.close()
