"""Place and disease matching in free text; the influence model recovers known coefficients."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alerting.forecast.projection import project_cases
from feeds.influence import DEFAULT_LAGS, InfluenceError, adjust_projection, fit_influence, lagged
from feeds.keywords import DISEASE_WORDS, DiseaseLexicon
from feeds.places import Gazetteer


def _gazetteer() -> Gazetteer:
    return Gazetteer({"长宁区": ("310105", "district", "310105"), "长宁": ("310105", "district", "310105"),
                      "仙霞新村街道": ("310105008", "street", "310105"), "仙霞": ("310105008", "street", "310105"),
                      "华阳路": ("310105001", "street", "310105"), "徐汇区": ("310104", "district", "310104"),
                      "天平路街道": ("310104003", "street", "310104")})


def test_place_matching_prefers_streets_of_the_named_district() -> None:
    g = _gazetteer()
    assert g.best("长宁区仙霞").region_code == "310105008"
    assert g.best(None, "仙霞一幼儿园多名儿童呕吐").region_code == "310105008"
    assert g.best("长宁区", "华阳路").region_code == "310105"  # the first text that names a place wins
    assert g.best("徐汇区仙霞").region_code == "310104"  # a street of another district does not count
    assert g.best("无地名的文字") is None
    assert [m.name for m in g.find("仙霞新村街道和华阳路")] == ["仙霞新村街道", "华阳路"]


def test_disease_words_longest_first() -> None:
    words = {w: code for code, ws in DISEASE_WORDS.items() for w in ws}
    lex = DiseaseLexicon(words)
    assert lex.match("某地发现禽流感病例").disease_code == "hpai"
    assert lex.match("学校多名学生流感请假").disease_code == "influenza"
    assert lex.match("幼儿园孩子上吐下泻").disease_code == "diarrhoea"
    assert lex.match("道路施工绕行") is None


def _synthetic(rng: np.random.Generator, n: int, b_temp: float, b_abs: float, alpha: float | None) -> pd.DataFrame:
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    t = np.arange(n)
    temp = 16 - 11 * np.cos(2 * np.pi * t / 365.25) + rng.normal(0, 3, n)
    absent = 5 + 3 * rng.gamma(2, 1, n)
    humidity = 70 + rng.normal(0, 8, n)
    frame = pd.DataFrame({"temp_mean": temp, "absent_ill_per_1000": absent, "humidity": humidity}, index=days)
    x = lagged(frame, {"temp_mean": 7, "absent_ill_per_1000": 2, "humidity": 7}, 7)
    eta = 2.0 + b_temp * x["temp_mean"] + b_abs * x["absent_ill_per_1000"]
    mu = np.exp(eta.fillna(2.0)).to_numpy()
    y = rng.poisson(mu) if alpha is None else rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    frame["cases"] = y.astype(float)
    return frame


@pytest.mark.parametrize("alpha, family", [(None, "poisson"), (0.3, "negbin")])
def test_influence_recovers_known_coefficients(alpha, family) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    b_temp, b_abs = -0.04, 0.08
    frame = _synthetic(rng, 900, b_temp, b_abs, alpha)
    res = fit_influence(frame, lags={"temp_mean": 7, "absent_ill_per_1000": 2, "humidity": 7}, window=7,
                        seasonal=False, weekday=False)
    assert res.family == family
    for name, true in (("temp_mean", b_temp), ("absent_ill_per_1000", b_abs), ("humidity", 0.0)):
        c = res.coefficient(name)
        print(f"{family} {name}: true {true:+.3f} estimate {c.estimate:+.4f} CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}]")
        assert c.ci_low <= true <= c.ci_high
    assert res.coefficient("absent_ill_per_1000").p_value < 1e-6
    if alpha is not None:
        assert abs(res.alpha - alpha) < 0.1
    assert 0 < res.deviance_explained < 1


def test_influence_refuses_too_little_data() -> None:
    frame = _synthetic(np.random.default_rng(1), 50, -0.04, 0.08, None)
    with pytest.raises(InfluenceError) as exc:
        fit_influence(frame, lags=DEFAULT_LAGS | {}, window=7)
    assert exc.value.code == "influence.missing_series"
    with pytest.raises(InfluenceError) as exc:
        fit_influence(frame, lags={"temp_mean": 7}, window=7)
    assert exc.value.code == "influence.too_short"


def test_adjusted_projection_follows_rising_absenteeism() -> None:
    rng = np.random.default_rng(3)
    frame = _synthetic(rng, 700, 0.0, 0.08, None)
    res = fit_influence(frame, lags={"absent_ill_per_1000": 2}, window=3, seasonal=False, weekday=False)
    proj = project_cases(np.full(30, 20.0), [0, 0.3, 0.4, 0.3], r_shape=100, r_scale=0.01, horizon=14, seed=1)
    steady = [8.0] * 40
    flat = adjust_projection(proj, type(res)(**{**res.__dict__, "last_values": {"absent_ill_per_1000": steady}}))
    assert np.allclose(flat.mean, proj.mean)  # no change in the covariate → no change
    rising = steady[:-4] + [30.0] * 4  # absences jumped in the last 4 days
    up = adjust_projection(proj, type(res)(**{**res.__dict__, "last_values": {"absent_ill_per_1000": rising}}))
    factors = np.asarray(up.params["covariate_factors"])
    assert factors[0] > 1.0 and np.all(factors >= 1.0 - 1e-9)
    assert up.mean.sum() > proj.mean.sum() and up.params["covariate_adjusted"]
