"""`onemap warn scan FILE`: the planted cluster is found; bad rows are refused naming line and field."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from alerting.scan_cli import ScanInputError, ScanOptions, run_scan
from cli.main import cli

START = date(2024, 3, 1)
PLANTED = {"R00", "R01", "R10"}


def planted_csv(days: int = 21, seed: int = 3) -> str:
    """A 5 × 4 grid of streets ~1 km apart, Poisson(2) a day, plus 8 a day in three neighbours on the last 3 days."""
    rng = np.random.default_rng(seed)
    rows = ["region,lon,lat,date,count"]
    for i in range(5):
        for j in range(4):
            region = f"R{i}{j}"
            for d in range(days):
                c = int(rng.poisson(2)) + (8 if region in PLANTED and d >= days - 3 else 0)
                rows.append(f"{region},{121.40 + 0.01 * i:.3f},{31.20 + 0.01 * j:.3f},{START + timedelta(days=d)},{c}")
    return "\n".join(rows) + "\n"


def _invoke(tmp_path: Path, text: str, *args: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "scan.csv"
    path.write_text(text, encoding="utf-8")
    return path, CliRunner().invoke(cli, ["warn", "scan", *args, str(path)])


def test_planted_cluster_is_the_most_likely(tmp_path: Path) -> None:
    _, result = _invoke(tmp_path, planted_csv(), "--replications", "99", "--seed", "7", "--max-days", "5")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    best = out["most_likely"]
    assert set(best["regions"]) == PLANTED
    assert best["end"] == "2024-03-21" and best["start"] <= "2024-03-19" and 3 <= best["days"] <= 5  # covers the 3 days
    assert best["observed"] > 3 * 3 * 8 and best["observed"] - best["expected"] > 72 / 2  # most planted cases are excess
    assert best["p"] == 0.01 and best["significant"] is True  # no replicate beats it: rank 1 of 100
    assert out["study_start"] == "2024-03-01" and out["study_end"] == "2024-03-21" and out["regions"] == 20
    assert out["params"]["replications"] == 99 and out["params"]["max_days"] == 5
    assert all(not set(c["regions"]) & PLANTED for c in out["secondary"])
    assert all(c["p"] >= best["p"] and not (c["significant"] and c["p"] > 0.05) for c in out["secondary"])


def test_same_seed_same_answer_and_rows_of_a_day_add_up() -> None:
    text = planted_csv()
    opts = ScanOptions(replications=49, seed=11)
    assert run_scan(text, opts) == run_scan(text, opts)
    lines = text.splitlines()
    at = next(i for i, row in enumerate(lines) if row.startswith("R00,") and row.split(",")[3] == "2024-03-21")
    region, lon, lat, day, count = lines[at].split(",")  # a planted day: count ≥ 8
    split = lines[:at] + lines[at + 1:] + [f"{region},{lon},{lat},{day},{int(count) - 1}", f"{region},{lon},{lat},{day},1"]
    assert run_scan("\n".join(split) + "\n", opts) == run_scan(text, opts)


def test_bom_is_accepted() -> None:
    opts = ScanOptions(replications=9)
    assert run_scan("\ufeff" + planted_csv(), opts) == run_scan(planted_csv(), opts)


HEAD = "region,lon,lat,date,count\n"
GOOD = "A,121.4,31.2,2024-03-01,1\n"


@pytest.mark.parametrize("text, code, line, field", [
    ("region,lon,lat,day,count\n" + GOOD, "scan.bad_header", 1, None),
    (HEAD, "scan.empty", None, None),
    (HEAD + GOOD + "B,121.5,31.2,2024-03-01\n", "scan.bad_row", 3, None),
    (HEAD + GOOD + ",121.5,31.2,2024-03-01,1\n", "scan.bad_region", 3, "region"),
    (HEAD + GOOD + "B,east,31.2,2024-03-01,1\n", "scan.bad_lon", 3, "lon"),
    (HEAD + GOOD + "B,121.5,95,2024-03-01,1\n", "scan.bad_lat", 3, "lat"),
    (HEAD + GOOD + "B,121.5,nan,2024-03-01,1\n", "scan.bad_lat", 3, "lat"),
    (HEAD + GOOD + "A,121.5,31.2,2024-03-02,1\n", "scan.moved_region", 3, "lon"),
    (HEAD + GOOD + "B,121.5,31.2,2024/03/01,1\n", "scan.bad_date", 3, "date"),
    (HEAD + GOOD + "B,121.5,31.2,2024-3-1,1\n", "scan.bad_date", 3, "date"),
    (HEAD + GOOD + "B,121.5,31.2,9999-01-01,1\n", "scan.date_range", 3, "date"),
    (HEAD + GOOD + "B,121.5,31.2,2024-03-01,-1\n", "scan.bad_count", 3, "count"),
    (HEAD + GOOD + "B,121.5,31.2,2024-03-01,1.5\n", "scan.bad_count", 3, "count"),
    (HEAD + GOOD + "B,121.5,31.2,2024-03-01,inf\n", "scan.bad_count", 3, "count"),
    (HEAD + GOOD + "B,121.5,31.2,2022-03-01,1\n", "scan.too_long", None, "date"),
])
def test_bad_rows_name_line_and_field(tmp_path: Path, text: str, code: str, line: int | None,
                                      field: str | None) -> None:
    with pytest.raises(ScanInputError) as err:
        run_scan(text, ScanOptions(replications=9))
    assert (err.value.code, err.value.line, err.value.field) == (code, line, field)
    if line is not None:
        assert f"line {line}" in str(err.value)
    path, result = _invoke(tmp_path, text, "--replications", "9")
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1 and code in lines[0] and str(path) in lines[0], result.output


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    for args in (["--max-share", "0"], ["--max-share", "1.5"], ["--alpha", "1"], ["--max-days", "0"],
                 ["--replications", "-1"]):
        _, result = _invoke(tmp_path, HEAD + GOOD, *args)
        assert result.exit_code == 2 and "Invalid value" in result.output, (args, result.output)
    with pytest.raises(ScanInputError) as err:
        run_scan(HEAD + GOOD, ScanOptions(alpha=0.0))
    assert err.value.field == "alpha"


def test_no_cases_gives_no_cluster(tmp_path: Path) -> None:
    out = run_scan(HEAD + "A,121.4,31.2,2024-03-01,0\nB,121.5,31.2,2024-03-02,0\n", ScanOptions(replications=9))
    assert out["most_likely"] is None and out["secondary"] == [] and out["total_cases"] == 0
