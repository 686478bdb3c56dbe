"""Outbreaks planted in the demo history: the ground truth that warning models should find."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Outbreak:
    key: str
    disease_code: str
    street_code: str
    lon: float
    lat: float
    radius_m: float
    # days before the demo's last day on which the first case has its onset
    starts_days_before_end: int
    duration_days: int
    cases: int
    ages: tuple[int, int]
    setting: str
    # syndromic counts of these institutions rise with the outbreak
    sentinel_codes: tuple[str, ...] = ()
    syndrome: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


OUTBREAKS: tuple[Outbreak, ...] = (
    # The current one: norovirus-like diarrhoea around a kindergarten in 仙霞新村街道, last two weeks.
    Outbreak("current-diarrhoea-xianxia", "diarrhoea", "310105008", 121.3885, 31.2092, 450, 11, 10, 64, (2, 8),
             "幼儿园及周边社区", ("CN-CHC-008", "CN-H-TR"), "diarrhoea"),
    # Two in the history, for backtests.
    Outbreak("hfmd-chengjiaqiao-2y", "hfmd", "310105010", 121.3700, 31.1955, 500, 2 * 365 - 160, 16, 42, (1, 6),
             "托幼机构", ("CN-CHC-010",), "fever"),
    Outbreak("influenza-zhoujiaqiao-1y", "influenza", "310105005", 121.4085, 31.2180, 600, 365 - 20, 12, 70, (6, 15),
             "小学", ("CN-CHC-005", "CN-H-TR"), "ili"),
)
