"""Headless Chromium: /assists lists a 协查 request, shows its facts and timeline, accepts it on the receiving side,
and follows a change that arrives from the other district without a reload (live event "assist").

Requests are seeded with the domain functions (assist.inbound as the city relays them; assist.service for one
of our own). Screenshots: tests/artifacts/assists_list.png, assists_detail.png, assists_accepted.png.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accounts.tokens import principal_for_user
from assist import inbound, service
from assist.models import AssistCreate, AssistMessage
from dashboard.api.requests import publish_committed
from geo.dates import CST
from store.accounts import AppUser
from store.assist import AssistRequest
from tests.factories.users import login, make_user
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PERSONAL = {"name": "王协查", "phone": "13900000000"}


def _message(kind: str, no: str, **extra: Any) -> AssistMessage:
    at = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    return AssistMessage.model_validate({"message_id": uuid.uuid4().hex, "kind": kind, "request_no": no,
                                         "at": at, "actor": "徐汇区 李四", **extra})


def _inbound_request(app: Any, services: Any) -> str:
    """A request from Xuhui to us (Changning), as the city relays it: 'received' in our inbox."""
    no = f"XC-310104-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().int % 10000:04d}"
    msg = _message("request", no, from_district="310104", to_district="310105", origin="310104", request={
        "subject_kind": "contact", "reason": "徐汇病例的密接，工作单位在长宁", "facts": ["核实工作单位", "核实近7天行程"],
        "place_name": "长宁区某写字楼", "place": {"lon": 121.42, "lat": 31.22},
        "deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    with services.session_factory() as s, s.begin():
        inbound.apply_message(s, msg, actor=None, district="310105", private_key_hex="", cipher=services.cipher)
    return no


def _outbound_request(services: Any, user: AppUser) -> str:
    with services.session_factory() as s, s.begin():
        actor = principal_for_user(s, s.scalar(select(AppUser).where(AppUser.id == user.id)))
        data = AssistCreate.model_validate({
            "to_district": "310104", "subject_kind": "person", "reason": "病例居住地在徐汇", "facts": ["核实现住址"],
            "personal": PERSONAL, "deadline": (datetime.now(UTC) + timedelta(days=2)).isoformat()})
        req = service.create_request(s, actor=actor, data=data, district="310105", cipher=services.cipher)
        req.state = "received"  # delivered to Xuhui
        return req.request_no


def _xuhui_accepts(app: Any, services: Any, no: str) -> None:
    """Xuhui's 'accepted' arrives through the city; announced like the inbound API route does."""
    msg = _message("state", no, state="accepted", from_district="310105", to_district="310104", origin="310104")
    with app.app_context(), services.session_factory() as s, s.begin():
        inbound.apply_message(s, msg, actor=None, district="310105", private_key_hex="", cipher=services.cipher,
                              publish=lambda change: publish_committed([change]))


def _open(page: Any, no: str) -> None:
    page.wait_for_selector(f"#assist-list >> text={no}", timeout=30_000)
    page.get_by_role("button", name=no).click(timeout=20_000)
    page.wait_for_selector(f"#assist-detail h2 >> text={no}", timeout=20_000)


def _create_with_an_error_then_send(page: Any) -> None:
    """No facts: a Chinese error naming the field, the inputs kept; with them, the request goes out."""
    page.click("#assist-create-form summary")
    page.click("#assist-new-to_district")
    page.get_by_text("黄浦区", exact=True).click()
    page.click("#assist-new-subject_kind")
    page.get_by_text("场所", exact=True).click()
    page.fill("#assist-new-reason", "聚集性疫情涉及场所")
    page.fill("#assist-new-deadline", (datetime.now(UTC) + timedelta(days=1)).astimezone(CST).strftime("%Y-%m-%d %H:%M"))
    page.click("#assist-create")
    page.wait_for_selector("#assist-message .error >> text=核查事项", timeout=20_000)
    assert page.input_value("#assist-new-reason") == "聚集性疫情涉及场所"
    page.screenshot(path=str(ARTIFACTS / "assists_create_error.png"))
    page.fill("#assist-new-facts", "核实场所经营情况\n核实近7天到访人员")
    page.click("#assist-create")
    page.wait_for_selector("#assist-message .ok >> text=已发出", timeout=20_000)
    page.wait_for_selector("#assist-detail >> text=聚集性疫情涉及场所", timeout=20_000)


def test_assists_page_in_a_browser(app, live_url: str, services) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    user, _ = make_user(services, "district_commander", "310105", may_view_pii=True)
    inbox_no, outbox_no = _inbound_request(app, services), _outbound_request(services, user)
    client = app.test_client()
    login(client, user)
    cookie = client.get_cookie("onemap_session").value  # type: ignore[union-attr]
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="America/Los_Angeles")
        context.add_cookies([{"name": "onemap_session", "value": cookie, "url": live_url}])
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_url}/assists")
        page.wait_for_selector("#assist-list .assist-table", timeout=60_000)
        row = page.locator("#assist-list tr", has_text=inbox_no)
        assert "本区收到" in row.inner_text() and "徐汇区" in row.inner_text() and "已送达" in row.inner_text()
        assert "密切接触者" in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "assists_list.png"))

        _open(page, inbox_no)
        timeline = page.locator("#assist-timeline").inner_text()
        assert "发出" in timeline and "送达" in timeline, timeline
        assert "核实工作单位" in page.locator("#assist-detail").inner_text()
        page.screenshot(path=str(ARTIFACTS / "assists_detail.png"))
        page.fill("#assist-accept-note", "已受理，安排流调")
        page.click("#assist-accept")
        page.wait_for_selector("#assist-message >> text=已受理", timeout=20_000)
        page.wait_for_function("() => document.querySelector('#assist-timeline').innerText.includes('已送达 → 已受理')",
                               timeout=20_000)
        assert page.locator("#assist-assignee").is_visible()  # next: assign; accept is no longer offered
        assert not page.locator("#assist-accept").is_visible()
        page.screenshot(path=str(ARTIFACTS / "assists_accepted.png"))

        _open(page, outbox_no)
        assert PERSONAL["name"] in page.locator("#assist-personal").inner_text()  # clear for this user, audited
        page.wait_for_function("() => window.OneMapLive && window.OneMapLive.connected", timeout=30_000)
        _xuhui_accepts(app, services, outbox_no)
        page.wait_for_function(  # no reload, no click: the live event refreshes list and detail
            "no => [...document.querySelectorAll('#assist-list tr')].some(r => r.innerText.includes(no)"
            " && r.innerText.includes('已受理'))", arg=outbox_no, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "assists_live.png"))
        _create_with_an_error_then_send(page)
        browser.close()
    with services.session_factory() as s:
        assert s.scalar(select(AssistRequest.state).where(AssistRequest.request_no == inbox_no)) == "accepted"
        audit = s.execute(select(AssistRequest.id).where(AssistRequest.request_no == outbox_no)).scalar_one()
        assert audit
    assert not problems, problems
