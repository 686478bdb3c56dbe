"""Every model returns its parameters in a form that can be stored with a signal (JSON)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from alerting.detectors import (
    count_threshold,
    cusum,
    ears_c1,
    ears_c3,
    ewma,
    moving_percentile,
    single_case,
    space_time_permutation_scan,
)
from alerting.forecast import estimate_r, project_from_rt


def test_params_are_json() -> None:
    dates = pd.date_range("2021-01-01", periods=1200)
    y = pd.Series(np.random.default_rng(0).poisson(3, 1200).astype(float), index=dates)
    results = [
        count_threshold(y, 3, 7),
        single_case(y, disease="plague"),
        ears_c1(y),
        ears_c3(y, alpha=0.01, min_sigma=0.2),
        cusum(y, k=1, h=5),
        cusum(y, mu=3.0, sigma=1.5),
        ewma(y, reference="moving"),
        moving_percentile(y, years=2),
    ]
    for res in results:
        stored = json.loads(json.dumps(res.params))
        assert stored == res.params
        assert res.model
    rt = estimate_r(y.iloc[:60], method="parametric_si", mean_si=4.0, std_si=2.0)
    json.dumps(rt.params)
    json.dumps(project_from_rt(rt, n_sims=10).params)


def test_scan_cluster_is_json() -> None:
    rng = np.random.default_rng(1)
    days = pd.date_range("2025-06-01", periods=20)
    table = pd.DataFrame(rng.poisson(2, (8, 20)), index=[f"L{i}" for i in range(8)], columns=days)
    res = space_time_permutation_scan(table, rng.uniform(0, 5000, (8, 2)), coords_kind="xy", replications=9)
    assert res.most_likely is not None
    stored = json.loads(json.dumps({"params": res.params, "cluster": res.most_likely.as_dict()}))
    assert stored["cluster"]["end"] == "2025-06-20"
