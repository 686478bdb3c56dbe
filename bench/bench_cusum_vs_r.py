"""CUSUM per series, side by side with R's ``surveillance::algo.cusum`` on the same series.

    .venv/bin/python -m bench.bench_cusum_vs_r [--days 1096] [--repeat 2000]

One 3-year daily Poisson(5) series with an outbreak, timed per call (best of 5 rounds of
``--repeat`` calls): R's algo.cusum with a given m (``Rscript``, ``system.time`` over the same
number of calls) against our ``cusum_r`` (R's mode) and our default ``cusum`` (fixed 28-day
reference, reset after an alarm; R's nearest: algo.cusum with m = mean of the first 28 days).
Prints the figures and a ``RESULT {json}`` line; ``make bench`` (bench/run_all.py) puts them in
bench/RESULTS.md. Without Rscript the R side is reported as skipped.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.detectors import cusum, cusum_r  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages(library(surveillance))
a <- commandArgs(trailingOnly = TRUE)
y <- scan(a[1], quiet = TRUE); reps <- as.integer(a[2]); n <- length(y)
dp <- suppressWarnings(create.disProg(week = seq_len(n), observed = y, state = rep(0, n)))
best <- function(ctl) min(sapply(1:5, function(i) system.time(for (j in 1:reps) algo.cusum(dp, control = ctl))[["elapsed"]]))
given <- best(list(range = 1:n, k = 1.04, h = 2.26, m = 5, trans = "standard"))
baseline <- best(list(range = 29:n, k = 1.04, h = 2.26, trans = "standard"))
cat(sprintf('{"given_m_ms": %.6f, "baseline_m_ms": %.6f, "surveillance": "%s", "R": "%s.%s"}\n',
            1000 * given / reps, 1000 * baseline / reps, packageVersion("surveillance"),
            R.version$major, R.version$minor))
"""


def series(days: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(5.0, days).astype(float)
    y[days // 2 : days // 2 + 10] += 6
    return y


def ours_ms(func: object, repeat: int) -> float:
    return min(timeit.repeat(func, number=repeat, repeat=5)) / repeat * 1000  # type: ignore[arg-type]


def r_side(y: np.ndarray, repeat: int) -> dict[str, object] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "y.txt", Path(tmp) / "bench.R"
        data.write_text("\n".join(str(int(v)) for v in y), encoding="utf-8")
        script.write_text(R_SCRIPT, encoding="utf-8")
        proc = subprocess.run([rscript, str(script), str(data), str(repeat)], capture_output=True, text=True)
    if proc.returncode:
        print(f"R side failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1096)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    y = series(args.days)
    result: dict[str, object] = {
        "days": args.days,
        "repeat": args.repeat,
        "ours_given_m_ms": ours_ms(lambda: cusum_r(y, m=5.0, k=1.04, h=2.26), args.repeat),
        "ours_default_ms": ours_ms(lambda: cusum(y, k=1.04, h=2.26), args.repeat),
    }
    r = r_side(y, args.repeat)
    print(f"CUSUM on one {args.days}-day series, per call (best of 5 rounds of {args.repeat} calls)")
    print(f"  ours, R's mode (cusum_r, given m)            {result['ours_given_m_ms']:8.3f} ms")
    print(f"  ours, default (fixed 28-day reference)      {result['ours_default_ms']:8.3f} ms")
    if r is None:
        print("  R: skipped (Rscript with surveillance not available)")
    else:
        result["r"] = r
        print(f"  R {r['R']} surveillance {r['surveillance']} algo.cusum, given m   {r['given_m_ms']:8.3f} ms")
        print(f"  R algo.cusum, m = mean of the first 28 days  {r['baseline_m_ms']:8.3f} ms")
        print(f"  ratio R / ours: given m {r['given_m_ms'] / result['ours_given_m_ms']:.1f}×, "
              f"default {r['baseline_m_ms'] / result['ours_default_ms']:.1f}×")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
