"""layers.jenks gives mapclassify.FisherJenks's bins exactly (random, skewed and tied rates, 2-8 classes)."""
from __future__ import annotations

import warnings

import mapclassify
import numpy as np
import pytest

from layers.jenks import fisher_jenks_bins


def reference(values: np.ndarray, k: int) -> list[float]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed", category=UserWarning)
        return [float(b) for b in mapclassify.FisherJenks(values, k=k).bins]


def samples() -> list[np.ndarray]:
    rng = np.random.default_rng(18)
    out = [np.arange(1.0, 40.0), np.array([0.5, 0.5, 0.5, 1.0, 2.0, 2.0, 3.0, 9.0, 9.0, 40.0])]
    for n in (6, 7, 12, 40, 150, 400):
        out.append(rng.gamma(0.8, 30.0, n).round(3))  # skewed, like incidence rates
        out.append(rng.integers(1, 9, n).astype(float) * 12.5)  # many ties
        out.append(rng.uniform(0.001, 1e5, n))
    return out


@pytest.mark.parametrize("matrix_max", [0, 10_000])  # row by row, and every prefix at once
@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_same_bins_as_mapclassify(k: int, matrix_max: int) -> None:
    for values in samples():
        if np.unique(values).size < k:
            continue
        assert [float(b) for b in fisher_jenks_bins(values, k, matrix_max)] == reference(values, k)


def test_class_breaks_unchanged_on_rates() -> None:
    from layers.incidence import class_breaks

    rates = [0.0, 3.2, 3.2, 7.9, 12.0, 55.1, 55.1, 80.4, 120.9, 300.5, 2.2]
    positive = np.array([v for v in rates if v > 0])
    assert class_breaks(rates) == [round(b, 3) for b in reference(positive, 5)]
