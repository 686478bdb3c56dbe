"""The runner's case clusters (聚集性病例) on the demo: the planted HFMD kindergarten outbreak, as a daily run sees it."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerting.backtest_truth import ground_truth
from alerting.config import load_config
from alerting.event_facts import fact_of
from alerting.explain import explain
from alerting.runner import RunReport, collect_alarms


def test_a_run_during_the_hfmd_outbreak_raises_a_case_cluster_at_its_street(demo_data: Any, services: Any) -> None:
    with services.session_factory() as db:
        _, outbreaks = ground_truth(db)
        hfmd = next(o for o in outbreaks if o["disease_code"] == "hfmd")
        as_of = hfmd["start"] + timedelta(days=6)
        cfg = load_config(db)
        alarms = collect_alarms(db, as_of=as_of, district_code="310105", cfg=cfg,
                                report=RunReport(as_of=as_of, district_code="310105"), models=("case_cluster",))
    found = [a for a in alarms if a.disease_code == "hfmd" and hfmd["street_code"] in a.push_region_codes]
    assert found, [(a.region_code, a.disease_code) for a in alarms]
    alarm = found[0]
    rule = cfg.case_clusters["hfmd"]
    assert alarm.model == "case_cluster" and alarm.observed is not None and alarm.observed >= rule.min_cases
    assert as_of - timedelta(days=cfg.lookback_days) < alarm.as_of <= as_of
    assert len(alarm.evidence["cases"]) == alarm.observed and sum(alarm.evidence["series"]["counts"]) == alarm.observed
    assert alarm.geometry is not None
    fact = fact_of(alarm)
    assert fact.source == "cases" and hfmd["street_code"] in fact.places()
    text = explain({"model": alarm.model, "evidence": alarm.evidence, "params": alarm.params,
                    "disease_code": "hfmd", "observed": alarm.observed})
    assert "聚集性病例阈值" in text and "500 米" in text and "None" not in text, text
