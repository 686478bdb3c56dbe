"""The scan finds the demo's current outbreak whatever the season: generated in memory for end dates over a year.

Guards against what broke CI on 2026-11-30: with a 30-day study period the outbreak inflated its own baseline
and was missed outside the summer diarrhoea season (the full-seed tests run for three dates in `make test`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import shapely

from alerting.config import ScanCfg
from alerting.detectors.scan import space_time_permutation_scan
from demo import cases as casegen
from demo import geography
from demo.outbreaks import OUTBREAKS

CST = timezone(timedelta(hours=8))
OUTBREAK = OUTBREAKS[0]
RUN_DAYS = (9, 6, 3, 0)  # days before the end on which tests/alerting/test_runner.py runs the models
END_DATES = [date(2027, 1, 1) + timedelta(days=30 * k) for k in range(12)]


@pytest.fixture(scope="module")
def district() -> tuple[geography.RegionSeed, list[geography.RegionSeed]]:
    d = next(x for x in geography.districts() if x.code == OUTBREAK.street_code[:6])
    return d, geography.streets(d)


def _cases(end: date, streets: list[geography.RegionSeed], d: geography.RegionSeed,
           study_days: int) -> pd.DataFrame:
    """Background diarrhoea of the district plus the planted outbreak, with report times as the seed makes them."""
    rng = np.random.default_rng(end.toordinal())
    days = np.arange(np.datetime64(end - timedelta(days=study_days + 10)), np.datetime64(end + timedelta(days=1)))
    spec = next(s for s in casegen.DISEASES if s.code == OUTBREAK.disease_code)
    background = casegen.background(rng, days, d.code, d.population, [(s.code, s.geom, s.population) for s in streets],
                                    diseases=(spec,))
    c = casegen.CaseBatch.concat([background, casegen.planted(rng, end, OUTBREAK, d.geom)])
    for s in streets:
        c.region[shapely.contains_xy(s.geom, c.lon, c.lat)] = s.code
    cutoff = datetime(end.year, end.month, end.day, 6, 0, tzinfo=CST)
    report = pd.to_datetime(casegen.timelines(rng, c.onset, cutoff)["report"], utc=True)
    return pd.DataFrame({"street": c.region, "onset": pd.to_datetime(c.onset), "report": report})


def _found(cases: pd.DataFrame, as_of: date, streets: list[geography.RegionSeed], cfg: ScanCfg) -> bool:
    first = pd.Timestamp(as_of - timedelta(days=cfg.study_days - 1))
    known = cases[(cases.onset >= first) & (cases.onset <= pd.Timestamp(as_of))
                  & (cases.report < pd.Timestamp(datetime.combine(as_of + timedelta(days=1), datetime.min.time(), CST)))]
    table = pd.crosstab(known.street, known.onset).reindex(
        index=[s.code for s in streets], columns=pd.date_range(first, pd.Timestamp(as_of)), fill_value=0)
    coords = np.array([[s.label.x, s.label.y] for s in streets])
    res = space_time_permutation_scan(table, coords, max_share=cfg.max_share, max_days=cfg.max_days,
                                      replications=cfg.replications, seed=int(as_of.strftime("%Y%m%d")))
    return any(OUTBREAK.street_code in cl.locations for cl in res.significant(cfg.alpha))


def test_scan_finds_the_outbreak_in_every_season(district) -> None:  # type: ignore[no-untyped-def]
    d, streets = district
    cfg = ScanCfg()
    missed = [end for end in END_DATES
              if not any(_found(_cases(end, streets, d, cfg.study_days), end - timedelta(days=k), streets, cfg)
                         for k in RUN_DAYS)]
    assert missed == [], f"scan missed the planted outbreak for end dates {missed}"
