"""The detection scorecard: the simulation has the design's properties, the scoring can fail, figures are fixed."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from alerting import scorecard as sc


@pytest.mark.parametrize("mu, phi", [(2.0, 1.0), (5.0, 1.5), (20.0, 6.0)])
def test_negative_binomial_draws_have_mean_mu_and_variance_phi_mu(mu: float, phi: float) -> None:
    y = sc.nb_counts(np.random.default_rng(0), np.full(200_000, mu), phi)
    assert y.mean() == pytest.approx(mu, rel=0.01)
    assert y.var() == pytest.approx(phi * mu, rel=0.03)


def test_simulated_baselines_follow_their_scenario() -> None:
    sim = sc.simulate(54, seed=5)
    baseline = sim.counts - sim.outbreak_cases
    for s_idx, scen in enumerate(sc.SCENARIOS):
        rows = sim.scenario == s_idx
        mu = sim.baseline_mean[rows]
        np.testing.assert_allclose(mu[0], scen.mean(sim.counts.shape[1]))
        resid = baseline[rows] - mu
        assert resid.sum() / mu.sum() == pytest.approx(0.0, abs=0.02)  # mean μ
        assert float((resid ** 2).sum() / mu.sum()) == pytest.approx(scen.phi, rel=0.08)  # variance φ μ
    weekday = np.array([d.weekday() for d in sim.days])
    high = sim.baseline_mean[sim.scenario == 4][0]
    assert high[weekday >= 5].mean() < 0.7 * high[weekday < 5].mean()  # the day-of-week effect


def test_outbreak_sizes_are_k_times_the_baseline_sd() -> None:
    sim = sc.simulate(54, seed=5)
    assert sorted(set(sim.k.tolist())) == list(sc.K_VALUES)
    for i in range(len(sim.k)):
        mu = sim.baseline_mean[i]
        sd = math.sqrt(sim.phi[i] * mu[sim.start[i]:sim.start[i] + 7].sum())
        assert sim.sd[i] == pytest.approx(sd)
        assert sim.size[i] == max(1, round(sim.k[i] * sd)) == sim.outbreak_cases[i].sum()
        cases = np.flatnonzero(sim.outbreak_cases[i])
        assert cases.min() >= sim.start[i] >= sim.eval_from and cases.max() == sim.end[i]
    delays = np.concatenate([np.repeat(np.arange(sim.counts.shape[1]) - sim.start[i], sim.outbreak_cases[i])
                             for i in range(len(sim.k))])
    assert np.median(delays) == pytest.approx(3, abs=1)  # floor(LogNormal(log 3, 0.5))
    assert np.mean(delays <= 8) > 0.9


def test_scoring_fails_a_model_that_always_alarms() -> None:
    sim = sc.simulate(18, seed=2)
    always = sc.score("always", np.ones_like(sim.counts, dtype=bool), sim)
    assert always.pod == 1.0 and always.specificity == 0.0 and always.median_delay == 0.0
    o = sc.outbreak_mask(sim)[:, sim.eval_from:]
    assert always.ppv == pytest.approx(o.sum() / o.size)
    never = sc.score("never", np.zeros_like(sim.counts, dtype=bool), sim)
    assert never.pod == 0.0 and never.specificity == 1.0 and never.ppv is None and never.median_delay is None
    oracle = sc.score("oracle", sc.outbreak_mask(sim), sim)
    assert (oracle.pod, oracle.specificity, oracle.ppv, oracle.median_delay) == (1.0, 1.0, 1.0, 0.0)
    late = np.zeros_like(sim.counts, dtype=bool)
    late[np.arange(len(sim.k)), sim.start + 2] = True
    late_score = sc.score("late", late, sim)
    assert late_score.median_delay == 2.0 and late_score.pod == pytest.approx(np.mean(sim.end >= sim.start + 2))
    before = np.zeros_like(sim.counts, dtype=bool)
    before[np.arange(len(sim.k)), sim.start - 1] = True  # alarms the day before: no detection, false alarms
    assert sc.score("early", before, sim).pod == 0.0


def test_quick_scorecard_is_deterministic_for_a_seed() -> None:
    first = sc.run_scorecard(quick=True, seed=1)
    assert first.as_json() == sc.run_scorecard(quick=True, seed=1).as_json()
    by = {s.model: s for s in first.scores}
    assert list(by) == [*sc.MODELS, "fused_events"]
    assert first.n_series == 18 and set(by["cusum"].pod_by_k) == set(sc.K_VALUES)
    # figures of record for seed 1 (change only with the simulation or the models' defaults)
    assert (by["cusum"].pod, by["cusum"].alarm_days, by["cusum"].median_delay) == (1.0, 113, 2.0)
    assert by["cusum"].specificity == pytest.approx(0.98765818, abs=1e-8)
    assert (by["ears_c1"].pod, by["ears_c1"].alarm_days) == (pytest.approx(16 / 18), 204)
    assert (by["farrington_flexible"].pod, by["farrington_flexible"].alarm_days) == (pytest.approx(14 / 18), 64)
    assert by["moving_percentile"].specificity < 0.9 < by["cusum"].specificity  # P80 alarms one window in five
    other = sc.run_scorecard(quick=True, seed=2, fused=False)
    assert other.as_json() != first.as_json() and "fused_events" not in {s.model for s in other.scores}


def test_cli_prints_json_and_table() -> None:
    from cli.main import cli

    out = CliRunner().invoke(cli, ["warn", "scorecard", "--quick", "--json", "--seed", "1"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["series"] == 18 and data["fused_events"] is True
    models = {m["model"]: m for m in data["models"]}
    assert set(models) == {*sc.MODELS, "fused_events"}
    assert set(models["cusum"]) >= {"pod", "specificity", "ppv", "median_delay_days", "pod_k5_plus"}
    table = CliRunner().invoke(cli, ["warn", "scorecard", "--series", "9", "--seed", "3"])
    assert table.exit_code == 0 and "9 simulated series (seed 3)" in table.output and "fused_events" in table.output
    assert CliRunner().invoke(cli, ["warn", "scorecard", "--series", "0"]).exit_code == 2
