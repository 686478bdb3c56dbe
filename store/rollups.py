"""case_daily: case reports counted per day, kept by triggers on case_report (migration 0003).

One row per basis ('onset': onset date; 'report': report day in China Standard Time), district, day, disease,
street ('' when the case has none), grid cell (case_report.grid_code, '' when none; migrations 0012 and 0013) and
case type, with the number of reports `n` (never 0: rows that reach 0 are deleted) and the quality indicators'
counts among them (QUALITY_COUNTS, migration 0014). The triggers note every statement's net change, and the
writing transaction folds them into the rollup when it commits (migration 0010), so readers may sum the rollup
instead of scanning case_report; a transaction that reads its own writes calls `fold_pending` first.
`differences` recomputes the rollup from the raw rows and looks up again the grid cell kept with each case
report; an empty answer means both are exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db import Base
from store.case_cells import cell_sql

BASES = ("onset", "report")
KEYS = ("basis", "district_code", "day", "disease_code", "region_code", "grid_code", "case_type")
# What the quality indicators count among a row's case reports `c` besides n (migration 0014): each one's condition.
QUALITY_COUNTS = {
    "deaths": "c.outcome = 'died'",
    "timely": "c.report_time - c.diagnosis_time <= interval '24 hours'",
    "audited": "c.audit_time IS NOT NULL AND c.audit_time - c.report_time <= interval '24 hours'",
    "complete": "nullif(c.occupation, '') IS NOT NULL AND c.age IS NOT NULL AND c.sex IS NOT NULL "
                "AND c.geom IS NOT NULL",
}
COUNTS = ("n", *QUALITY_COUNTS)
# The report day of a case report, as the triggers compute it (UTC+8, like geo.dates.CST).
REPORT_DAY_SQL = "(report_time AT TIME ZONE INTERVAL '+08:00')::date"


class CaseDaily(Base):
    """Case reports per basis × district × day × disease × street × grid cell × case type (kept by triggers)."""

    __tablename__ = "case_daily"
    __table_args__ = (CheckConstraint("basis IN ('onset', 'report')", name="ck_case_daily_basis"),)
    basis: Mapped[str] = mapped_column(String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    disease_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(20), primary_key=True)  # '' no cell (migration 0013)
    case_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    deaths: Mapped[int] = mapped_column(Integer)  # QUALITY_COUNTS
    timely: Mapped[int] = mapped_column(Integer)
    audited: Mapped[int] = mapped_column(Integer)
    complete: Mapped[int] = mapped_column(Integer)


Index("ix_case_daily_basis_day", CaseDaily.basis, CaseDaily.day)
# Rows that reached 0 within a statement, which the trigger deletes at once: an index that stays empty.
Index("ix_case_daily_zero", CaseDaily.basis, postgresql_where=text("n = 0"))

_KEY_LIST = ", ".join(KEYS)
_COUNT_LIST = ", ".join(COUNTS)
_FLAGS = ", ".join(f"{condition} AS {name}" for name, condition in QUALITY_COUNTS.items())
_RECOMPUTED = f"""
    SELECT {_KEY_LIST}, count(*)::int AS n,
           {", ".join(f"count(*) FILTER (WHERE {name})::int AS {name}" for name in QUALITY_COUNTS)} FROM (
        SELECT 'onset' AS basis, district_code, onset_date AS day, disease_code,
               coalesce(region_code, '') AS region_code, grid_code, case_type, {_FLAGS} FROM case_report c
        UNION ALL
        SELECT 'report', district_code, {REPORT_DAY_SQL}, disease_code, coalesce(region_code, ''), grid_code,
               case_type, {_FLAGS}
        FROM case_report c) r
    GROUP BY {_KEY_LIST}"""


@dataclass(frozen=True)
class Difference:
    """One rollup row that disagrees with the raw case reports: its first count that does."""

    key: dict[str, Any]
    stored: int  # what case_daily holds (0: no row)
    actual: int  # what case_report counts
    count: str = "n"  # which of COUNTS

    def __str__(self) -> str:
        where = " ".join(f"{k}={v}" for k, v in self.key.items())
        what = "" if self.count == "n" else f" {self.count}"
        return f"{where}: rollup{what} {self.stored}, case reports{what} {self.actual}"


@dataclass(frozen=True)
class GridDifference:
    """A case report whose kept grid cell is not the one a fresh lookup finds."""

    case_id: int
    district_code: str
    stored: str  # case_report.grid_code ('' no cell)
    actual: str  # case_grid_cell(district, point) now

    @property
    def key(self) -> dict[str, Any]:
        return {"district_code": self.district_code, "case_id": self.case_id}

    def __str__(self) -> str:
        return f"case report {self.case_id} (district {self.district_code}): grid cell {self.stored}, " \
               f"lookup {self.actual}"


# Each case report's cell looked up afresh (set-based, as intake does; the row trigger's case_grid_cell agrees)
_FRESH_CELLS = f"SELECT k.id, {cell_sql('k.district_code', 'k.geom')} AS cell FROM case_report k"
_GRID_DIFFERENCES = f"""
    SELECT c.id, c.district_code, c.grid_code, f.cell FROM case_report c JOIN ({_FRESH_CELLS}) f ON f.id = c.id
    WHERE c.grid_code IS DISTINCT FROM f.cell ORDER BY c.id"""


def fold_pending(session: Session) -> None:
    """Fold this transaction's case report changes into the rollup now instead of at commit."""
    session.execute(text("SET CONSTRAINTS case_daily_fold IMMEDIATE"))
    session.execute(text("SET CONSTRAINTS case_daily_fold DEFERRED"))


def differences(session: Session, *, limit: int | None = None) -> list[Difference | GridDifference]:
    """Rollup rows that differ from a recomputation from case_report, then case reports whose grid cell differs
    from a fresh lookup (empty: both are exact); at most `limit` of each."""
    fold_pending(session)
    join = " AND ".join(f"s.{k} = a.{k}" for k in KEYS)
    keys = ", ".join(f"coalesce(s.{k}, a.{k}) AS {k}" for k in KEYS)
    counts = ", ".join(f"coalesce(s.{c}, 0) AS s_{c}, coalesce(a.{c}, 0) AS a_{c}" for c in COUNTS)
    sql = f"""SELECT {keys}, {counts}
              FROM case_daily s FULL JOIN ({_RECOMPUTED}) a ON {join}
              WHERE ({", ".join(f"s.{c}" for c in COUNTS)}) IS DISTINCT FROM ({", ".join(f"a.{c}" for c in COUNTS)})
              ORDER BY {", ".join(KEYS)}""" + (" LIMIT :limit" if limit is not None else "")
    params = {"limit": limit} if limit is not None else {}
    found: list[Difference | GridDifference] = [_difference(r) for r in session.execute(text(sql), params)]
    cells = session.execute(text(_GRID_DIFFERENCES + (" LIMIT :limit" if limit is not None else "")), params)
    return found + [GridDifference(int(r.id), r.district_code, r.grid_code, r.cell) for r in cells]


def _difference(row: Any) -> Difference:
    count = next(c for c in COUNTS if getattr(row, f"s_{c}") != getattr(row, f"a_{c}"))
    return Difference({k: getattr(row, k) for k in KEYS}, int(getattr(row, f"s_{count}")),
                      int(getattr(row, f"a_{count}")), count)


def rebuild(session: Session) -> int:
    """Replace the rollup by a recomputation from case_report and look up again every case's grid cell (repair);
    returns the number of rollup rows."""
    session.execute(text(f"UPDATE case_report c SET grid_code = f.cell FROM ({_FRESH_CELLS}) f "
                         "WHERE c.id = f.id AND c.grid_code IS DISTINCT FROM f.cell"))
    session.execute(text("LOCK TABLE case_report IN SHARE MODE"))
    fold_pending(session)
    session.execute(text("DELETE FROM case_daily"))
    session.execute(text(f"INSERT INTO case_daily ({_KEY_LIST}, {_COUNT_LIST}) {_RECOMPUTED}"))
    return int(session.execute(text("SELECT count(*) FROM case_daily")).scalar_one())
