"""The models over the seeded demo: the injected outbreak is found by several models, runs are idempotent,
and every model's signal explains itself on the /signals page."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from accounts.principal import Principal
from alerting.runner import run_all
from store.accounts import Setting
from store.signals import Signal

OUTBREAK_STREET = "310105008"
SENTINELS = {"CN-CHC-008", "CN-H-TR"}


@pytest.fixture(scope="module")
def daily_runs(demo_data: Any, services: Any) -> dict[str, Any]:
    """Run the models as a schedule would have over the demo's last days (every 3rd day: the lookback is 3 days)."""
    with services.session_factory() as db:
        end = date.fromisoformat(db.get(Setting, "demo.seeded").value["end"])
    reports = []
    for k in (9, 6, 3, 0):
        with services.session_factory() as db, db.begin():
            t0 = time.perf_counter()
            reports.append((run_all(db, as_of=end - timedelta(days=k), district_code="310105"),
                            time.perf_counter() - t0))
    return {"end": end, "reports": reports}


def _about_outbreak(s: Signal) -> bool:
    ev = s.evidence or {}
    if ev.get("syndrome") == "diarrhoea":
        return ev.get("institution_code") in SENTINELS
    if s.disease_code != "diarrhoea":
        return False
    members = (ev.get("cluster") or {}).get("locations") or []
    return s.region_code in (OUTBREAK_STREET, "310105") or OUTBREAK_STREET in members


def test_injected_outbreak_found_by_several_models(daily_runs: dict[str, Any], services: Any) -> None:
    with services.session_factory() as db:
        found = db.scalars(select(Signal).where(Signal.district_code == "310105", Signal.origin == "model")).all()
        hits = [s for s in found if _about_outbreak(s)]
    models = {s.model for s in hits}
    times = [round(t, 2) for _, t in daily_runs["reports"]]  # full district runs
    print(f"\noutbreak found by {sorted(models)}; daily run seconds {times}")
    assert len(models) >= 2, models
    assert {"moving_percentile", "scan"} <= models and models & {"ears_c1", "ears_c2", "ears_c3"}
    street = [s for s in hits if s.model == "moving_percentile" and s.region_code == OUTBREAK_STREET]
    assert street and street[0].fire_count > 1  # one signal kept up to date, not one a day
    assert street[0].window_end == daily_runs["end"]
    scan = next(s for s in hits if s.model == "scan")
    assert scan.geom is not None and scan.evidence["cases"] and scan.evidence["cluster"]["p_value"] <= 0.01


def test_a_rerun_of_the_same_day_changes_nothing(daily_runs: dict[str, Any], services: Any) -> None:
    with services.session_factory() as db, db.begin():
        before = db.scalar(select(Signal.id).order_by(Signal.id.desc()).limit(1))
        report = run_all(db, as_of=daily_runs["end"], district_code="310105")
        assert report.created == 0 and report.refired == 0 and report.unchanged > 0
        assert db.scalar(select(Signal.id).order_by(Signal.id.desc()).limit(1)) == before


def test_every_model_signal_explains_itself_on_the_page(daily_runs: dict[str, Any], services: Any, app: Any) -> None:
    from dashboard.pages import signals as page

    with services.session_factory() as db:
        rows = db.execute(select(Signal.model, Signal.id, Signal.observed).where(Signal.origin == "model")
                          .order_by(Signal.id)).all()
    by_model = {m: (i, o) for m, i, o in rows}
    assert {"moving_percentile", "ears_c1", "ears_c2", "ears_c3", "cusum", "scan"} <= set(by_model)
    words = {"moving_percentile": "百分位数", "ears_c1": "EARS-C1", "ears_c2": "EARS-C2", "ears_c3": "C3 统计量",
             "cusum": "决策界限", "scan": "对数似然比", "single_case": "单病例", "count_threshold": "设定阈值",
             "farrington_flexible": "准泊松回归",  # from test_farrington_runner's district when run in one package
             "case_cluster": "聚集性病例阈值"}
    viewer = Principal(user_id=0, username="tester", role="city_admin", org_id=0, region_code="310000")
    with app.test_request_context("/signals"):
        g.principal = viewer
        for model, (sid, observed) in by_model.items():
            tree = page.detail_view(sid)
            text = _find(tree, "sig-explain")
            assert words[model] in text, (model, text)
            assert re.search(rf"(?<![\d.]){int(observed)}(?![\d])", text), (model, observed, text)
            assert "—" not in text, (model, text)
            assert _find_id(tree, "sig-chart") or model == "scan"
            assert _find_id(tree, "sig-map")


def _walk(node: Any):  # type: ignore[no-untyped-def]
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            yield from _walk(child)


def _find(tree: Any, class_name: str) -> str:
    for node in _walk(tree):
        if getattr(node, "className", None) == class_name:
            return str(node.children)
    raise AssertionError(f"no {class_name}")


def _find_id(tree: Any, id_: str) -> bool:
    return any(getattr(node, "id", None) == id_ for node in _walk(tree))


def test_forecast_api_rt_and_burden(daily_runs: dict[str, Any], client: Any, principal_token: Any) -> None:
    _, token = principal_token("district_commander", "310105")
    auth = {"Authorization": f"Bearer {token}"}
    end = daily_runs["end"].isoformat()
    r = client.get(f"/api/v1/forecast/rt?disease=influenza&region=310105&as_of={end}", headers=auth)
    assert r.status_code == 200, r.json
    body = r.json
    assert body["serial_interval"] == {"mean": 2.6, "sd": 1.5} and len(body["observed"]) == 120
    assert len(body["projection"]) == 14
    assert all(p["q025"] <= p["mean"] <= p["q975"] for p in body["projection"])
    assert body["rt"][-1]["mean"] > 0 and body["rt"][-1]["q025"] < body["rt"][-1]["q975"]
    assert client.get("/api/v1/forecast/rt?disease=influenza&region=310104", headers=auth).status_code == 403
    bad = client.get("/api/v1/forecast/rt?disease=nope&region=310105", headers=auth)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "disease"
    r = client.get(f"/api/v1/forecast/burden?disease=influenza&as_of={end}", headers=auth)
    assert r.status_code == 200, r.json
    assert [d["district_code"] for d in r.json["districts"]] == ["310105"]
    metrics = {m["metric"]: m["days"] for m in r.json["districts"][0]["metrics"]}
    assert {"fever_clinic_visits", "beds_occupied"} <= set(metrics) and len(metrics["beds_occupied"]) == 14
