"""What users see lists warning events, not raw alarms: map layers, KPIs, lists, evidence, explanation (issue #16)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from shapely.geometry import box

from alerting import service
from alerting.config import WarnConfig
from alerting.event_loop import fuse_alarms
from alerting.explain import explain
from alerting.service import Alarm
from layers import indicators
from layers.base import LayerFilters
from layers.signals import clusters_layer, signal_evidence, signals_layer
from store.grades import GRADE_COLOR
from tests.alerting.test_loop import World, world  # noqa: F401  (the fictional district)

DAY = date(2031, 8, 20)


def _alarm(w: World, model: str, observed: float, baseline: float) -> Alarm:
    code = w.streets[0]
    return Alarm(model=model, district_code=w.district, region_code=code, disease_code=w.disease,
                 title=f"测试街道1测试腹泻{model}报警", as_of=DAY, observed=observed, threshold=observed - 1,
                 window_start=DAY, params={}, evidence={"model": model, "baseline": baseline, "alarm_day": DAY.isoformat()},
                 geometry=box(121.0, 31.0, 121.005, 31.005), push_region_codes=[code])


@pytest.fixture(scope="module")
def event(services: Any, world: World) -> dict[str, Any]:  # noqa: F811
    """One event (yellow: moving percentile + CUSUM agree) fused from two alarms of one street and day."""
    alarms = [_alarm(world, "moving_percentile", 4, 2.0), _alarm(world, "cusum", 4, 1.5)]
    with services.session_factory() as db, db.begin():
        raised = [(a, service.raise_alarm(db, a, verify_hours=24, dedup_days=7, kind="alarm")[0]) for a in alarms]
        report = fuse_alarms(db, raised, as_of=DAY, district_code=world.district, cfg=WarnConfig(),
                             now=datetime(2031, 8, 20, 2, tzinfo=UTC))
        alarm_ids = [s.id for _, s in raised]
    assert len(report.event_ids) == 1
    return {"id": report.event_ids[0], "alarm_ids": alarm_ids}


def _filters(w: World) -> LayerFilters:
    return LayerFilters(region=w.district)


def test_the_map_layer_and_kpis_show_the_event_once_with_its_grade(services: Any, world: World,  # noqa: F811
                                                                   event: dict[str, Any]) -> None:
    principal = world.principals["commander"]
    with services.session_factory() as db:
        features = signals_layer(db, principal, _filters(world))["features"]
        by_state = indicators.signals_by_state(db, principal, _filters(world))
        listed = indicators.signal_list(db, principal, _filters(world))
        clusters = clusters_layer(db, principal, _filters(world))["features"]
    assert [f["id"] for f in features] == [event["id"]]  # the two alarms are not points of their own
    props = features[0]["properties"]
    assert (props["grade"], props["grade_zh"], props["grade_color"]) == ("yellow", "黄色预警", GRADE_COLOR["yellow"])
    assert by_state["new"] == 1 and sum(by_state.values()) == 1
    assert [r["id"] for r in listed] == [event["id"]]
    assert {f["id"] for f in clusters} <= {event["id"]}


def test_the_evidence_of_an_event_lists_both_alarms_and_explains_the_grade(services: Any, world: World,  # noqa: F811
                                                                         event: dict[str, Any]) -> None:
    principal = world.principals["commander"]
    with services.session_factory() as db:
        ev = signal_evidence(db, principal, event["id"])
        detail = service.signal_detail(db, actor=principal, signal_id=event["id"])
    assert ev["grade"] == "yellow" and ev["grade_zh"] == "黄色预警"
    rows = ev["alarms"]
    assert sorted(r["id"] for r in rows) == sorted(event["alarm_ids"])
    assert {r["model_zh"] for r in rows} == {"移动百分位法", "CUSUM"}
    assert {(r["region_name"], r["day"], r["observed"]) for r in rows} == {("测试街道1", DAY.isoformat(), 4.0)}
    # as fusion saw them: CUSUM's baseline, the moving percentile's threshold (alerting.event_facts)
    assert sorted(r["expected"] for r in rows) == [1.5, 3.0]
    text = explain(detail)
    assert "黄色预警事件" in text and "2 条模型报警" in text and "CUSUM" in text and "移动百分位法" in text
    assert "定级依据" in text and "None" not in text
    assert "cases:" not in text and "CUSUM（病例报告）" in text  # model families in Chinese, not codes


def test_the_monitor_list_and_evidence_panel_show_the_badge_and_the_alarms(services: Any, world: World,  # noqa: F811
                                                                          event: dict[str, Any]) -> None:
    from dashboard.pages import monitor_view

    principal = world.principals["commander"]
    with services.session_factory() as db:
        listed = indicators.signal_list(db, principal, _filters(world))
        ev = signal_evidence(db, principal, event["id"])
    items = str(monitor_view.signal_items(listed))
    assert items.count("黄色预警") == 1 and GRADE_COLOR["yellow"] in items
    panel = str(monitor_view.evidence(ev))
    assert "关联模型报警" in panel and "移动百分位法" in panel and "CUSUM" in panel and "测试街道1" in panel


def test_the_signals_page_lists_the_event_with_its_grade_and_its_alarms(app: Any, services: Any, world: World,  # noqa: F811
                                                                       event: dict[str, Any],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.pages import signals as page

    monkeypatch.setattr(page, "_principal", lambda: world.principals["commander"])
    with app.test_request_context("/signals"):
        listing = str(page.list_view(None, None, False))
        detail = str(page.detail_view(event["id"]))
    assert "共 1 条" in listing and "黄色预警" in listing
    assert f"?id={event['id']}" in listing and not any(f"?id={a}'" in listing for a in event["alarm_ids"])
    assert "关联模型报警（2）" in detail and "移动百分位法" in detail and "CUSUM" in detail
