"""The 流调 side of /command (issue 20, phase 2): overlays, playback, progress panel and 7-1-7 line."""
from __future__ import annotations

from datetime import date
from typing import Any

from dashboard.pages import command_chain
from dashboard.pages import command_fieldwork as page
from dashboard.pages import command_fieldwork_view as view
from dashboard.pages.command_layout import MAP_LAYERS
from fieldwork.chain import CaseFact, ChainFacts, ContactFact, build_chain
from fieldwork.progress import Progress
from tests.dashboard.pages.test_tasks import _callback, _find, _login, _route
from tests.factories.dispatch import World

TODAY = date(2026, 3, 31)


def test_the_window_and_the_playback() -> None:
    assert page.window("all", -3, TODAY) == (date(2026, 3, 4), TODAY)
    assert page.window("day", -3, TODAY) == (date(2026, 3, 28), date(2026, 3, 28))
    assert page.window("day", 5, TODAY) == (TODAY, TODAY)  # never a day after today
    assert [page.next_day(d) for d in (-27, -1, 0, None)] == [-26, 0, -27, -27]


def test_progress_panel_counts_and_overdue() -> None:
    empty = view.progress_panel(Progress(0, 0, 0, 0, 0, 0, 0, 0))
    assert "暂无进行中的流调" in str(empty)
    text = str(view.progress_panel(Progress(2, 9, 6, 3, 4, 1, 2, 1)))
    assert "逾期随访 3 人" in text and "追踪超过24小时 2 人" in text and "观察满14天未解除 1 人" in text
    assert "'to-trace'" not in text and "cmd-fw-kpi-to-trace" in text


def test_timeliness_line() -> None:
    steps = [{"label_zh": "发生→发现", "measured": 2, "met": 1, "median_days": 6.5},
             {"label_zh": "发现→报告", "measured": 2, "met": 2, "median_days": 0.0},
             {"label_zh": "报告→早期响应完成", "measured": 0, "met": 0, "median_days": None}]
    line = view.timeliness_line({"events": 2, "all_met": 1, "steps": steps, "bottleneck_zh": "发生→发现"}, TODAY)
    assert line == ("7-1-7（2026-03-31 以来 2 起事件，1 起全部达标）：发生→发现 1/2 达标，中位 6.5 天；"
                    "发现→报告 2/2 达标，中位 0 天；报告→早期响应完成 —；瓶颈：发生→发现")
    assert "无预警事件" in view.timeliness_line({"events": 0}, TODAY)


def test_tooltips_escape_and_name_no_contact() -> None:
    tip = view.contacts_tooltip({"street_name": "<b>街道</b>", "total": 3, "to_trace": 1, "traced": 2, "observing": 1,
                                 "became_case": 0})
    assert "&lt;b&gt;街道" in tip and "密接 3 人" in tip
    spot = view.hotspot_tooltip({"street_name": None, "kinds": 3, "first": "2026-01-09", "last": "2026-01-12",
                                 "cases": 3, "places": 1, "contacts": 4})
    assert "流调热点（3类重合）" in spot and "密接 4" in spot


def test_the_command_page_has_the_fieldwork_overlays(app: Any, world: World) -> None:
    client = _login(app, world, "commander")
    page_json = _route(client, "/command")
    for cid in ("cmd-fw-places", "cmd-fw-contacts", "cmd-fw-hotspots", "cmd-fw-progress", "cmd-fw-717",
                "cmd-fw-day", "cmd-fw-play"):
        assert f'"{cid}"' in page_json, cid
    assert {"fieldwork.places", "fieldwork.contacts", "fieldwork.hotspots"} <= {k for k, _ in MAP_LAYERS}
    ticks = [{"id": i, "property": p, "value": v} for i, p, v in
             (("cmd-poll", "n_intervals", 1), ("cmd-live", "n_clicks", 0), ("cmd-refresh", "data", 0))]
    out = _callback(client, [("cmd-fw-places", "data"), ("cmd-fw-contacts", "data"), ("cmd-fw-hotspots", "data"),
                             ("cmd-fw-window", "children")],
                    [*ticks, {"id": "cmd-fw-mode", "property": "value", "value": "day"},
                     {"id": "cmd-fw-day", "property": "value", "value": -2}])
    answer = out["response"]
    assert answer["cmd-fw-places"]["data"]["type"] == "FeatureCollection"
    assert answer["cmd-fw-window"]["children"].startswith("暴露场所：")
    progress = _callback(client, [("cmd-fw-progress", "children"), ("cmd-fw-717", "children")], ticks)["response"]
    assert "7-1-7" in progress["cmd-fw-717"]["children"]
    assert progress["cmd-fw-progress"]["children"]
    assert _find(_callback(client, [("page-content", "children")],
                           [{"id": "url", "property": "pathname", "value": "/command"},
                            {"id": "url", "property": "search", "value": ""}], changed=["url.pathname"]),
                 "cmd-fw-progress") is not None


def test_chain_elements_class_nodes_and_edges_by_kind() -> None:
    chain = build_chain(ChainFacts(event_id=5, title="某校聚集", evidence_case_ids=(1,), investigation_cases={9: 1},
                                   contacts=(ContactFact(20, 9, "close", "became_case", 2),),
                                   cases={1: CaseFact(1), 2: CaseFact(2)}))
    elements = command_chain.elements(chain)
    classes = {e["data"]["id"]: e["classes"] for e in elements}
    assert classes == {"event-5": "event", "case-1": "index_case", "contact-20": "contact became_case",
                       "case-2": "secondary_case", "event-5>case-1": "evidence", "case-1>contact-20": "exposure",
                       "contact-20>case-2": "became_case"}
    assert command_chain.summary(chain) == "某校聚集：指示病例 1 例，密切接触者 1 人，续发病例 1 例"
    assert command_chain.layout_for(chain)["roots"] == '[id = "event-5"]'
    assert {s["selector"] for s in command_chain.STYLESHEET} >= {".event", ".index_case", ".contact", ".secondary_case"}


def test_many_leaf_index_cases_are_drawn_as_one_node() -> None:
    evidence = tuple(range(1, 30))  # an event's 29 evidence cases, one of them with an investigation of its own
    chain = build_chain(ChainFacts(event_id=5, title="聚集", evidence_case_ids=evidence, investigation_cases={9: 1},
                                   contacts=(ContactFact(20, 9, "close", "traced"),),
                                   cases={i: CaseFact(i) for i in evidence}))
    elements = command_chain.elements(chain)
    ids = {e["data"]["id"] for e in elements}
    assert {"case-1", "index-cases", "event-5>index-cases", "case-1>contact-20"} <= ids
    assert not ids & {f"case-{i}" for i in range(2, 30)}
    assert next(e for e in elements if e["data"]["id"] == "index-cases")["data"]["label"] == "指示病例 28 例"
    assert command_chain.summary(chain).endswith("指示病例 29 例，密切接触者 1 人，续发病例 0 例")


def test_the_command_page_has_the_chain_card(app: Any, world: World) -> None:
    client = _login(app, world, "commander")
    page_json = _route(client, "/command", "?event=123456789")
    for cid in ("cmd-chain-event", "cmd-chain-body", "cmd-chain-legend"):
        assert f'"{cid}"' in page_json, cid
    assert '"cmd-chain-graph"' not in page_json  # mounted only while a chain is drawn
    assert "指示病例" in page_json and "续发病例" in page_json and "123456789" in page_json
    outputs = [("cmd-chain-body", "children"), ("cmd-chain-drawn", "data"), ("cmd-chain-summary", "children")]
    empty = _callback(client, outputs, [{"id": "cmd-chain-event", "property": "value", "value": None},
                                        {"id": "cmd-refresh", "property": "data", "value": 0}],
                      state=[{"id": "cmd-chain-drawn", "property": "data", "value": None}])["response"]
    assert empty["cmd-chain-body"]["children"] is None and "传播链" in empty["cmd-chain-summary"]["children"]
    unknown = _callback(client, outputs, [{"id": "cmd-chain-event", "property": "value", "value": 123456789},
                                          {"id": "cmd-refresh", "property": "data", "value": 0}],
                        state=[{"id": "cmd-chain-drawn", "property": "data", "value": None}])["response"]
    assert unknown["cmd-chain-summary"]["children"] == "预警事件不存在"
