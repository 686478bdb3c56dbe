"""Daily count series for the warning models, built in SQL from case reports and syndromic counts.

Every builder returns a DataFrame with one row per series and one column per consecutive day
(``start..end`` inclusive, missing days filled with 0), so the detectors can take the matrix as is.
Cases count by onset date and only if reported by the end of ``end`` (China Standard Time), so a
run "as of" a past day sees what was known then. With a `principal`, only its scope is counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Integer, and_, cast, func, select, union_all
from sqlalchemy.orm import QueryableAttribute, Session

from accounts.principal import Principal
from accounts.scope import scope_clause
from geo.dates import CST
from store.cases import CaseReport, SyndromicCount
from store.places import Institution, Region
from store.rollups import CaseDaily

Level = Literal["street", "district"]


def end_of_day(day: date) -> datetime:
    """The first instant after `day` in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CST)


def day_columns(start: date, end: date) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D")


def _pivot(rows: list[Any], keys: list[str], start: date, end: date) -> pd.DataFrame:
    """Long rows (keys..., day, n) → wide zero-filled frame with a (Multi)Index of keys."""
    cols = day_columns(start, end)
    if not rows:
        index = pd.MultiIndex.from_tuples([], names=keys) if len(keys) > 1 else pd.Index([], name=keys[0])
        return pd.DataFrame(np.zeros((0, len(cols))), index=index, columns=cols)
    return _sum_by_key_and_day(rows, keys, start, cols)


def _sum_by_key_and_day(rows: list[Any], keys: list[str], start: date, cols: pd.DatetimeIndex) -> pd.DataFrame:
    """`pivot_table(index=keys, columns="day", values="n", aggfunc="sum", fill_value=0)` on `cols`, in numpy:
    rows whose key has a None (which pivot_table drops) or whose day is outside `cols` are left out."""
    parts = list(zip(*rows, strict=True))
    ok = np.ones(len(rows), dtype=bool)
    for part in parts[:len(keys)]:
        ok &= np.fromiter((v is not None for v in part), dtype=bool, count=len(rows))
    offset = (np.array(parts[len(keys)], dtype="datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    ok &= (offset >= 0) & (offset < len(cols))
    codes, levels = zip(*(pd.Index([v for v, keep in zip(part, ok, strict=True) if keep]).factorize(sort=True)
                          for part in parts[:len(keys)]), strict=True)
    flat = np.ravel_multi_index(codes, [max(len(lv), 1) for lv in levels]) if codes[0].size else np.zeros(0, int)
    present, row = np.unique(flat, return_inverse=True)
    values = np.zeros((present.size, len(cols)))
    np.add.at(values, (row, offset[ok]), np.array(parts[len(keys) + 1], dtype=float)[ok])
    tuples = np.unravel_index(present, [max(len(lv), 1) for lv in levels])
    labels = [lv.take(t) for lv, t in zip(levels, tuples, strict=True)]
    index = pd.MultiIndex.from_arrays(labels, names=keys) if len(keys) > 1 else pd.Index(labels[0], name=keys[0])
    return pd.DataFrame(values, index=index, columns=cols)


def first_case_day(session: Session, *, district_code: str | None) -> date | None:
    """The earliest onset in the data (of one district, or anywhere): series never start before it."""
    stmt = select(func.min(CaseDaily.day)).where(CaseDaily.basis == "onset")
    if district_code:
        stmt = stmt.where(CaseDaily.district_code == district_code)
    return session.scalar(stmt)


def first_syndromic_day(session: Session, *, district_code: str | None) -> date | None:
    stmt = select(func.min(SyndromicCount.day))
    if district_code:
        stmt = stmt.where(SyndromicCount.district_code == district_code)
    return session.scalar(stmt)


def case_counts(session: Session, *, level: Level, start: date, end: date, district_code: str | None = None,
                principal: Principal | None = None, disease_codes: list[str] | None = None) -> pd.DataFrame:
    """Cases per (region_code, disease_code) and onset day; `level` street (a district's streets) or district.

    Read from the daily rollup (store.rollups) less the cases reported after `end`; institution users
    (scoped by reporting institution, not in the rollup) are counted from the case reports.
    """
    keys = ["region_code", "disease_code"]
    if principal is not None and principal.role == "institution_user":
        return _pivot(_raw_case_counts(session, level=level, start=start, end=end, district_code=district_code,
                                       principal=principal, disease_codes=disease_codes), keys, start, end)
    wide = _rollup_case_wide(session, level=level, start=start, end=end, district_code=district_code,
                             principal=principal, disease_codes=disease_codes)
    wide = wide[(wide != 0).any(axis=1)]  # series whose every case was reported after `end`
    return wide if not wide.empty else _pivot([], keys, start, end)


def _case_filters(district: Any, disease: Any, *, district_code: str | None, principal: Principal | None,
                  disease_codes: list[str] | None, institution: Any = None) -> list[Any]:
    out = []
    if district_code:
        out.append(district == district_code)
    if disease_codes is not None:
        out.append(disease.in_(disease_codes))
    if principal is not None:
        out.append(scope_clause(principal, district, institution))
    return out


def _rollup_case_rows(*, level: Level, start: date, end: date, district_code: str | None,
                      principal: Principal | None, disease_codes: list[str] | None) -> Any:
    """Onset-day counts from case_daily and, negative, those of the cases not yet reported by `end`, as one
    statement: (place, disease, day, n); a series may then be 0 on every day."""
    place = CaseDaily.district_code if level == "district" else CaseDaily.region_code
    known = select(place, CaseDaily.disease_code, CaseDaily.day, cast(func.sum(CaseDaily.n), Integer))
    if level != "district":
        known = known.join(Region, and_(Region.code == CaseDaily.region_code, Region.level == "street"))
    known = known.where(CaseDaily.basis == "onset", CaseDaily.day >= start, CaseDaily.day <= end,
                        *_case_filters(CaseDaily.district_code, CaseDaily.disease_code, district_code=district_code,
                                       principal=principal, disease_codes=disease_codes)
                        ).group_by(place, CaseDaily.disease_code, CaseDaily.day)
    region: QueryableAttribute[str | None] = CaseReport.district_code if level == "district" else CaseReport.region_code
    late = select(region, CaseReport.disease_code, CaseReport.onset_date, -func.count())
    if level != "district":
        late = late.join(Region, and_(Region.code == CaseReport.region_code, Region.level == "street"))
    late = late.where(CaseReport.onset_date >= start, CaseReport.onset_date <= end,
                      CaseReport.report_time >= end_of_day(end),
                      *_case_filters(CaseReport.district_code, CaseReport.disease_code, district_code=district_code,
                                     principal=principal, disease_codes=disease_codes)
                      ).group_by(region, CaseReport.disease_code, CaseReport.onset_date)
    return union_all(known, late)


def _rollup_case_wide(session: Session, *, level: Level, start: date, end: date, district_code: str | None,
                      principal: Principal | None, disease_codes: list[str] | None) -> pd.DataFrame:
    """`_pivot` of `_rollup_case_rows` by (region_code, disease_code), each series read as one row of day offsets
    and counts (arrays), not one row per day."""
    rows = _rollup_case_rows(level=level, start=start, end=end, district_code=district_code, principal=principal,
                             disease_codes=disease_codes).subquery()
    place, disease, day, n = rows.c
    stmt = select(place, disease, func.array_agg(cast(day - start, Integer)), func.array_agg(n)).group_by(place, disease)
    series = sorted((r for r in session.execute(stmt) if r[0] is not None and r[1] is not None),
                    key=lambda r: (r[0], r[1]))
    cols = day_columns(start, end)
    values = np.zeros((len(series), len(cols)))
    for i, (_, _, offsets, counts) in enumerate(series):
        at = np.asarray(offsets, dtype=np.int64)
        keep = (at >= 0) & (at < len(cols))
        np.add.at(values[i], at[keep], np.asarray(counts, dtype=float)[keep])
    keys = ["region_code", "disease_code"]
    if not series:
        return _pivot([], keys, start, end)
    return pd.DataFrame(values, index=pd.MultiIndex.from_tuples([(r[0], r[1]) for r in series], names=keys),
                        columns=cols)


def _raw_case_counts(session: Session, *, level: Level, start: date, end: date, district_code: str | None,
                     principal: Principal | None, disease_codes: list[str] | None) -> list[Any]:
    """The same counts from the case reports themselves."""
    region: QueryableAttribute[str | None] = CaseReport.district_code if level == "district" else CaseReport.region_code
    stmt = select(region, CaseReport.disease_code, CaseReport.onset_date, func.count())
    if level != "district":
        stmt = stmt.join(Region, and_(Region.code == CaseReport.region_code, Region.level == "street"))
    stmt = stmt.where(CaseReport.onset_date >= start, CaseReport.onset_date <= end,
                      CaseReport.report_time < end_of_day(end),
                      *_case_filters(CaseReport.district_code, CaseReport.disease_code, district_code=district_code,
                                     principal=principal, disease_codes=disease_codes,
                                     institution=CaseReport.reporting_institution_id))
    stmt = stmt.group_by(region, CaseReport.disease_code, CaseReport.onset_date)
    return [tuple(r) for r in session.execute(stmt)]


def syndromic_counts(session: Session, *, start: date, end: date, district_code: str | None = None,
                     principal: Principal | None = None, syndromes: list[str] | None = None) -> pd.DataFrame:
    """Syndrome cases per (institution_id, syndrome) and day at the reporting (sentinel) institutions."""
    stmt = (select(SyndromicCount.institution_id, SyndromicCount.syndrome, SyndromicCount.day,
                   SyndromicCount.cases)
            .where(SyndromicCount.day >= start, SyndromicCount.day <= end))
    if district_code:
        stmt = stmt.where(SyndromicCount.district_code == district_code)
    if syndromes is not None:
        stmt = stmt.where(SyndromicCount.syndrome.in_(syndromes))
    if principal is not None:
        stmt = stmt.where(scope_clause(principal, SyndromicCount.district_code, SyndromicCount.institution_id))
    return _pivot([tuple(r) for r in session.execute(stmt)], ["institution_id", "syndrome"], start, end)


@dataclass(frozen=True)
class ScanInput:
    """Cases per location and day for one disease, with each location's [lon, lat]."""

    counts: pd.DataFrame  # index = location code, columns = days
    coords: np.ndarray


def _scan_locations(session: Session, district_code: str, unit: str) -> list[Any]:
    """(code, lon, lat) of the district's streets (or grid cells), by code."""
    return list(session.execute(
        select(Region.code, func.ST_X(func.coalesce(Region.label_point, func.ST_PointOnSurface(Region.geom))),
               func.ST_Y(func.coalesce(Region.label_point, func.ST_PointOnSurface(Region.geom))))
        .where(Region.level == unit, Region.district_code == district_code).order_by(Region.code)
    ).all())


def _scan_input(wide: pd.DataFrame, locs: list[Any]) -> ScanInput:
    codes = [code for code, _, _ in locs]
    coords = np.array([[lon, lat] for _, lon, lat in locs], dtype=float).reshape(-1, 2)
    return ScanInput(wide.reindex(codes, fill_value=0), coords)


@dataclass(frozen=True)
class DistrictScanCounts:
    """Every disease's street counts of one district over the scan's study period, read in one query."""

    by_disease: dict[str, pd.DataFrame]  # disease → (street × day), streets with cases only
    locations: list[Any]
    start: date
    end: date

    def of(self, disease_code: str) -> ScanInput:
        """What `scan_counts(disease_code=…, unit="street")` returns for the same district and days."""
        wide = self.by_disease.get(disease_code)
        return _scan_input(wide if wide is not None else _pivot([], ["location"], self.start, self.end),
                           self.locations)


def district_scan_counts(session: Session, *, start: date, end: date, district_code: str) -> DistrictScanCounts:
    """Cases per disease, street of the district and onset day (the street scans of all its diseases at once)."""
    wide = _rollup_case_wide(session, level="street", start=start, end=end, district_code=district_code,
                             principal=None, disease_codes=None)
    by_disease = {str(d): part.droplevel("disease_code").rename_axis("location")
                  for d, part in wide.groupby(level="disease_code", sort=False)}
    return DistrictScanCounts(by_disease, _scan_locations(session, district_code, "street"), start, end)


def scan_counts(session: Session, *, disease_code: str, start: date, end: date, district_code: str,
                unit: Literal["street", "grid"] = "street") -> ScanInput:
    """Cases of one disease per street (or grid cell) of a district and onset day, for the space-time scan."""
    if unit == "street":
        return district_scan_counts(session, start=start, end=end, district_code=district_code).of(disease_code)
    stmt = (select(Region.code, CaseReport.onset_date, func.count())
            .join(Region, and_(Region.level == "grid", Region.district_code == district_code,
                               func.ST_Contains(Region.geom, CaseReport.geom)))
            .group_by(Region.code, CaseReport.onset_date)
            .where(CaseReport.district_code == district_code, CaseReport.disease_code == disease_code,
                   CaseReport.onset_date >= start, CaseReport.onset_date <= end,
                   CaseReport.report_time < end_of_day(end)))
    rows = [tuple(r) for r in session.execute(stmt)]
    locs = _scan_locations(session, district_code, unit)
    return _scan_input(_pivot(rows, ["location"], start, end), locs)


def institutions_of(session: Session, ids: list[int]) -> dict[int, Institution]:
    """Institutions by id (for naming syndromic series)."""
    if not ids:
        return {}
    return {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(ids)))}
