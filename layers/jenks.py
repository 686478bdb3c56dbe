"""Fisher-Jenks natural breaks, the same numbers as mapclassify.FisherJenks(values, k).bins, with numpy.

mapclassify runs its dynamic programme in pure Python unless numba is installed (it is not here): a
choropleth of a district's few hundred grid cells spent tens of milliseconds of one core per request
in it. This is the same programme, in the same float32 arithmetic and the same order of additions, with
the loop over the candidate lower bounds done by numpy; ties go to the same class limits (tests compare
both on random and tied data).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

MATRIX_MAX = 250  # up to this many values, every (last, m) pair at once is faster than row by row


def fisher_jenks_bins(values: Any, k: int, matrix_max: int = MATRIX_MAX) -> npt.NDArray[np.float64]:
    """Upper bounds of the `k` classes of `values` (at least `k` distinct values), as mapclassify's bins."""
    x = np.sort(np.asarray(values, dtype=float).flatten()).astype("f8")
    lower = _limits_by_class(x, k) if len(x) <= matrix_max else _class_limits(x, k)
    bins = np.zeros(k + 1, dtype=x.dtype)
    bins[k], bins[0] = x[-1], x[0]
    n = len(x)
    for count in range(k, 1, -1):
        pivot = int(lower[n, count])
        bins[count - 1] = x[pivot - 2]
        n = pivot - 1
    return np.delete(bins, 0)


def _limits_by_class(x: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int32]:
    """`_class_limits` one class count at a time over every prefix at once (rows of class j-1 are final before
    class j reads them, as in the row-by-row programme)."""
    n = len(x)
    last, m = np.arange(1, n + 1)[:, None], np.arange(1, n + 1)[None, :]
    tail = np.where(m <= last, x.astype(np.float32)[np.maximum(last - m, 0)], np.float32(0))
    s1 = np.cumsum(tail, axis=1, dtype=np.float32)  # row l-1: the sums over m = 1 … n of values l, l-1, …
    s2 = np.cumsum(tail * tail, axis=1, dtype=np.float32)
    v = s2 - (s1 * s1) / np.arange(1, n + 1, dtype=np.float32)
    lower = np.zeros((n + 1, k + 1), dtype=np.int32)
    cost = np.zeros((n + 1, k + 1), dtype=np.float32)
    lower[1, 1:] = 1
    cost[2:, 1:] = np.inf
    rows = np.arange(2, n + 1)
    lower[2:, 1], cost[2:, 1] = 1, v[rows - 1, rows - 1]
    below = (m < last)[1:]  # rows l = 2 … n: the candidates m = 1 … l-1
    for j in range(2, k + 1):
        cand = v[1:] + np.where(below, cost[np.maximum(last - m, 0), j - 1][1:], np.float32(np.inf))
        best = (n - 1) - np.argmin(cand[:, ::-1], axis=1)  # the last m reaching the minimum (ties: `>=`)
        lower[2:, j] = rows - best
        cost[2:, j] = cand[np.arange(n - 1), best]
    return lower


def _class_limits(x: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int32]:
    """mapclassify's mat1: for the first l values and j classes, the 1-based lower limit of the last class."""
    n = len(x)
    lower = np.zeros((n + 1, k + 1), dtype=np.int32)
    cost = np.zeros((n + 1, k + 1), dtype=np.float32)
    lower[1, 1:] = 1
    cost[2:, 1:] = np.inf
    x32 = x.astype(np.float32)
    for last in range(2, n + 1):
        tail = x32[last - 1::-1]  # the values from `last` down to the first: m = 1 … last
        s1 = np.cumsum(tail, dtype=np.float32)
        s2 = np.cumsum(tail * tail, dtype=np.float32)
        w = np.arange(1, last + 1, dtype=np.float32)
        v = s2 - (s1 * s1) / w  # within-class variance of values (last-m+1 … last), float32 as mapclassify
        if k >= 2:
            # candidates for m = 1 … last-1: v[m] + cost[last - m, j - 1]
            cand = v[:last - 1, None] + cost[last - 1:0:-1, 1:k]
            best = (last - 2) - np.argmin(cand[::-1], axis=0)  # the last m reaching the minimum (ties: `>=`)
            lower[last, 2:] = last - best
            cost[last, 2:] = cand[best, np.arange(k - 1)]
        lower[last, 1] = 1
        cost[last, 1] = v[-1]
    return lower
