"""The backtest's ground truth: an outbreak is measured from its first case's onset, and a detection names its
day, grade and the models of its alarms about the outbreak (no database)."""
from __future__ import annotations

from datetime import date, timedelta

from alerting.backtest_truth import _truth, detection_row, event_detection, format_detections
from alerting.events import AlarmFact, EventState

END = date(2027, 1, 20)
ROW = {"key": "hfmd-x", "disease_code": "hfmd", "street_code": "310105010", "starts_days_before_end": 570,
       "duration_days": 16, "syndrome": "fever"}


def _fact(model: str, day: date, disease: str | None = "hfmd", place: str = "310105010") -> AlarmFact:
    return AlarmFact(model=model, source="cases", district="310105", place=place, day=day, disease=disease)


def test_the_first_onset_is_the_start_and_the_nominal_start_only_a_fallback() -> None:
    nominal = END - timedelta(days=570)
    recorded = _truth({**ROW, "first_onset": (nominal + timedelta(days=2)).isoformat()}, END)
    assert recorded["start"] == nominal + timedelta(days=2) and recorded["nominal_start"] == nominal
    assert recorded["stop"] == nominal + timedelta(days=16 + 7)
    assert _truth(ROW, END)["start"] == nominal  # a demo seeded before `first_onset` was recorded


def test_a_detection_counts_from_the_first_onset_and_names_its_models() -> None:
    o = _truth({**ROW, "first_onset": "2025-07-01"}, END)
    early, d0 = date(2025, 6, 30), date(2025, 7, 1)
    e = EventState(district="310105", place="310105010", group="hfmd", first_day=early, last_day=d0 + timedelta(3),
                   facts=[_fact("cusum", early), _fact("scan", d0, place="310105009"), _fact("cusum", d0 + timedelta(1)),
                          _fact("case_cluster", d0 + timedelta(2)), _fact("ears_c1", d0 + timedelta(3))],
                   history=[(early, "blue"), (d0 + timedelta(2), "yellow")])
    hit = event_detection(e, o, "yellow")
    assert hit is not None and hit["day"] == d0 + timedelta(2) and hit["grade"] == "yellow"
    assert hit["models"] == ["case_cluster", "cusum"]  # not the alarm before the first onset nor another street's
    row = detection_row(o, hit)
    assert row is not None and row["day_offset"] == 2 and row["nominal_offset"] == 4
    assert row["first_onset"] == "2025-07-01" and row["detected"] == "2025-07-03" and row["new_event"]
    assert "hfmd-x" in format_detections({"hfmd-x": row})[1] and "+2" in format_detections({"hfmd-x": row})[1]
    assert event_detection(e, o, "orange") is None
