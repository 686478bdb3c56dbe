"""Issue #15 item 6: the demo simulator's default pace follows a real district (Changning: ~693,000 residents),
so 当日报告 grows by a few an hour, not by hundreds. The clock is injected: an hour is generated without sleeping."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from shapely.geometry import box

from demo.cases import annual_rates_on
from ingest.schemas import CST, SCHEMAS
from ingest.sim_feed import LiveFeed, SimRates, expected_cases_per_day
from ingest.simulate import SEASONS, Simulator, SimWorld

CHANGNING_POPULATION = 693_051  # 7th census, 2020
BUSIEST_DAY = date(2025, 1, 20)  # the influenza peak: the most reports of the year


def _changning_like_world() -> SimWorld:
    district = box(121.35, 31.19, 121.45, 31.24)
    streets = [(f"310105{i:03d}", box(121.35 + i * 0.01, 31.19, 121.36 + i * 0.01, 31.24), 69_000) for i in range(10)]
    institutions = [{"id": i, "code": f"H{i:02d}", "kind": "hospital" if i < 6 else "chc",
                     "fever_clinic": i < 4, "sentinel_types": ["ili"] if i < 2 else []} for i in range(20)]
    teams = [{"code": f"T{i}", "lon": 121.40, "lat": 31.21} for i in range(8)]
    stock = [{"site_code": "S1", "item_code": f"I{i}", "quantity": 500.0, "min_level": 50.0} for i in range(5)]
    diseases = [{"code": f"D{i}", "name": name, "single_case": False} for i, (name, _, _) in enumerate(SEASONS)]
    return SimWorld("310105", district, streets, institutions, teams, stock, diseases, CHANGNING_POPULATION)


def _one_hour(start: datetime, cases_per_day: float, seed: int = 1) -> dict[str, list[dict]]:
    feed = LiveFeed(Simulator(_changning_like_world(), rng=random.Random(seed), clock=lambda: start),
                    SimRates(cases_per_day=cases_per_day), start)
    out: dict[str, list[dict]] = {}
    for step in range(1, 361):  # the clock advances 10 s at a time: one simulated hour
        for kind, records in feed.until(start + timedelta(seconds=10 * step)).items():
            out.setdefault(kind, []).extend(records)
    return out


def test_expected_daily_cases_are_a_real_districts() -> None:
    # Changning reports some 10–50 notifiable cases a day depending on the season (never hundreds).
    for day in (BUSIEST_DAY, date(2025, 4, 15), date(2025, 7, 15), date(2025, 11, 30)):
        per_day = expected_cases_per_day(CHANGNING_POPULATION, annual_rates_on(day))
        assert 5 <= per_day <= 60, (day, per_day)


def test_an_hour_of_default_feed_has_a_few_case_reports() -> None:
    per_day = expected_cases_per_day(CHANGNING_POPULATION, annual_rates_on(BUSIEST_DAY))
    for seed in (1, 2, 3):
        hour = _one_hour(datetime(2025, 1, 20, 10, tzinfo=CST), per_day, seed)  # the busiest clinic hour
        new_cases = [r for r in hour.get("case_report", []) if r["version"] == 1]
        # ~4 expected; a real district's busiest hour stays well under 15 (the old default made ~2,000).
        assert 0 <= len(new_cases) <= 14, len(new_cases)
        assert len(new_cases) <= per_day * 0.3  # 当日报告 cannot jump by most of a day within an hour
    night = _one_hour(datetime(2025, 1, 20, 3, tzinfo=CST), per_day)
    assert len(night.get("case_report", [])) <= 4


def test_over_a_day_of_hours_the_count_matches_the_rate() -> None:
    """Across many busy hours the mean is the expected hourly rate (the default is not a stress feed)."""
    per_day = expected_cases_per_day(CHANGNING_POPULATION, annual_rates_on(BUSIEST_DAY))
    counts = [len(_one_hour(datetime(2025, 1, 20, 10, tzinfo=CST), per_day, seed).get("case_report", []))
              for seed in range(12)]
    expected = per_day * 1.8 / 19.6 * 1.05  # HOURLY[10] / sum(HOURLY), revisions included
    assert expected * 0.5 <= sum(counts) / len(counts) <= expected * 1.6, (counts, expected)


def test_teams_report_every_few_seconds_and_sentinels_hourly() -> None:
    hour = _one_hour(datetime(2025, 1, 20, 10, tzinfo=CST), 40.0)
    fixes = hour["team_position"]
    per_team = {code: sum(1 for f in fixes if f["team_code"] == code) for code in {f["team_code"] for f in fixes}}
    assert len(per_team) == 8 and all(710 <= n <= 721 for n in per_team.values()), per_team
    counts = hour["syndromic_count"]
    per_sentinel = {c["institution_code"] for c in counts}
    assert per_sentinel == {"H00", "H01", "H02", "H03"} and len(counts) == 4 * 4  # one update per syndrome
    assert all(0 <= c["visits"] <= 30 for c in counts)  # an hour's share of ~40 visits a day
    assert len(hour.get("stock_change", [])) <= 12


def test_feed_records_are_valid_intake_records() -> None:
    hour = _one_hour(datetime(2025, 1, 20, 10, tzinfo=CST), 40.0)
    for kind, records in hour.items():
        for record in records[:50]:
            SCHEMAS[kind].model_validate(record)
    times = [datetime.fromisoformat(f["time"]) for f in hour["team_position"] if f["team_code"] == "T0"]
    assert times == sorted(times) and (times[-1] - times[0]).total_seconds() > 3500  # stamped by the feed's clock
