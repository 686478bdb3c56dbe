"""Detection scorecard: every warning model and the fused events on simulated outbreaks (Noufaily et al. 2013).

    .venv/bin/python -m bench.bench_scorecard [--series N] [--seed N]

Prints the table of `onemap warn scorecard` and a `RESULT {json}` line for bench/run_all.py.
"""
from __future__ import annotations

import argparse
import json
import time

from alerting.scorecard import DEFAULT_SERIES, run_scorecard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=DEFAULT_SERIES)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.process_time()
    card = run_scorecard(args.series, seed=args.seed)
    cpu = time.process_time() - started
    print(card.format(), end="")
    print(f"CPU time {cpu:.1f} s")
    print("RESULT " + json.dumps({**card.as_json(), "cpu_seconds": cpu}))


if __name__ == "__main__":
    main()
