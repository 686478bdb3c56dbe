"""case_daily: case reports counted per day, kept by triggers on case_report (migration 0003).

One row per basis ('onset': onset date; 'report': report day in China Standard Time), district,
day, disease, street ('' when the case has none) and case type, with the number of reports `n`
(never 0: rows that reach 0 are deleted). The triggers note every statement's net change, and the writing
transaction folds them into the rollup when it commits (migration 0010), so readers may sum the rollup
instead of scanning case_report; a transaction that reads its own writes calls `fold_pending` first.
`differences` recomputes the rollup from the raw rows; an empty answer means it is exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db import Base

BASES = ("onset", "report")
KEYS = ("basis", "district_code", "day", "disease_code", "region_code", "case_type")
# The report day of a case report, as the triggers compute it (UTC+8, like geo.dates.CST).
REPORT_DAY_SQL = "(report_time AT TIME ZONE INTERVAL '+08:00')::date"


class CaseDaily(Base):
    """Case reports per basis × district × day × disease × street × case type (maintained by triggers)."""

    __tablename__ = "case_daily"
    __table_args__ = (CheckConstraint("basis IN ('onset', 'report')", name="ck_case_daily_basis"),)
    basis: Mapped[str] = mapped_column(String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    disease_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    case_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


Index("ix_case_daily_basis_day", CaseDaily.basis, CaseDaily.day)
# Rows that reached 0 within a statement, which the trigger deletes at once: an index that stays empty.
Index("ix_case_daily_zero", CaseDaily.basis, postgresql_where=text("n = 0"))

_KEY_LIST = ", ".join(KEYS)
_RECOMPUTED = f"""
    SELECT {_KEY_LIST}, count(*)::int AS n FROM (
        SELECT 'onset' AS basis, district_code, onset_date AS day, disease_code,
               coalesce(region_code, '') AS region_code, case_type FROM case_report
        UNION ALL
        SELECT 'report', district_code, {REPORT_DAY_SQL}, disease_code, coalesce(region_code, ''), case_type
        FROM case_report) r
    GROUP BY {_KEY_LIST}"""


@dataclass(frozen=True)
class Difference:
    """One rollup row that disagrees with the raw case reports."""

    key: dict[str, Any]
    stored: int  # what case_daily holds (0: no row)
    actual: int  # what case_report counts

    def __str__(self) -> str:
        where = " ".join(f"{k}={v}" for k, v in self.key.items())
        return f"{where}: rollup {self.stored}, case reports {self.actual}"


def fold_pending(session: Session) -> None:
    """Fold this transaction's case report changes into the rollup now instead of at commit."""
    session.execute(text("SET CONSTRAINTS case_daily_fold IMMEDIATE"))
    session.execute(text("SET CONSTRAINTS case_daily_fold DEFERRED"))


def differences(session: Session, *, limit: int | None = None) -> list[Difference]:
    """Rollup rows that differ from a recomputation from case_report (empty: the rollup is exact)."""
    fold_pending(session)
    join = " AND ".join(f"s.{k} = a.{k}" for k in KEYS)
    keys = ", ".join(f"coalesce(s.{k}, a.{k}) AS {k}" for k in KEYS)
    sql = f"""SELECT {keys}, coalesce(s.n, 0) AS stored, coalesce(a.n, 0) AS actual
              FROM case_daily s FULL JOIN ({_RECOMPUTED}) a ON {join}
              WHERE s.n IS DISTINCT FROM a.n
              ORDER BY {", ".join(KEYS)}""" + (" LIMIT :limit" if limit is not None else "")
    rows = session.execute(text(sql), {"limit": limit} if limit is not None else {})
    return [Difference({k: getattr(r, k) for k in KEYS}, int(r.stored), int(r.actual)) for r in rows]


def rebuild(session: Session) -> int:
    """Replace the rollup by a recomputation from case_report (repair); returns the number of rows."""
    session.execute(text("LOCK TABLE case_report IN SHARE MODE"))
    fold_pending(session)
    session.execute(text("DELETE FROM case_daily"))
    session.execute(text(f"INSERT INTO case_daily ({_KEY_LIST}, n) {_RECOMPUTED}"))
    return int(session.execute(text("SELECT count(*) FROM case_daily")).scalar_one())
