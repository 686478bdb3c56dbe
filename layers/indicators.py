"""Monitor panels: KPI cards, quality-control indicators, epidemic curve, top diseases, signals by state."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.dates import CST
from layers.base import Area, LayerFilters, resolve_area, today_cst
from layers.cases import case_where, rollup_where
from layers.signals import INACTIVE_STATES, STATE_ZH, signal_where
from store.rollups import COUNTS, QUALITY_COUNTS

# Shown on hover next to each QC figure.
QC_DEFINITIONS = {
    "incidence": "报告发病率 = 期间内报告（审核通过的确诊与临床诊断）病例数 ÷ 常住人口 × 10万",
    "death_rate": "报告死亡率 = 期间内报告病例中转归为死亡的人数 ÷ 常住人口 × 10万",
    "cfr": "病死率 = 期间内报告病例中死亡人数 ÷ 报告病例数 × 100%",
    "report_timeliness": "报告及时率 = 诊断后24小时内完成网络报告的病例数 ÷ 报告病例数 × 100%",
    "audit_timeliness": "审核及时率 = 报告后24小时内完成审核的病例数 ÷ 报告病例数 × 100%",
    "completeness": "完整率 = 职业、年龄、性别、现住址坐标均已填写的病例数 ÷ 报告病例数 × 100%",
}
KPI_DEFINITIONS = {
    "today": "当日（北京时间）新报告病例数（确诊+临床诊断），按报告时间统计；当日未过完时，同比取去年同日同一时刻以前",
    "days7": "截至当日近7天新报告病例数，同比为去年同期7天（末日同上）",
    "days28": "截至当日近28天新报告病例数，同比为去年同期28天（末日同上）",
}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), CST)


def same_day_last_year(day: date) -> date:
    """The same calendar day one year earlier (29 Feb → 28 Feb)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def reported_between(session: Session, principal: Principal, area: Area, filters: LayerFilters,
                     first: date, last: date, *, day_part: timedelta | None = None) -> int:
    """Counted cases reported (report_time, CST) from `first` to `last` inclusive.

    With `day_part`, the last day counts only its first `day_part` (a day still in progress, like for like).
    """
    end = _day_start(last) + day_part if day_part is not None else _day_start(last + timedelta(days=1))
    whole_days_until = last if day_part is None else last - timedelta(days=1)
    rollup = rollup_where(principal, area, filters, basis="report", since=first, until=whole_days_until)
    if rollup is None:
        return _reported_raw(session, principal, area, filters, _day_start(first), end)
    where, params = rollup
    n = int(session.execute(text(f"SELECT coalesce(sum(d.n), 0) FROM case_daily d WHERE {where}"), params).scalar_one())
    if day_part is not None:  # the day in progress: its first `day_part` from the case reports
        n += _reported_raw(session, principal, area, filters, _day_start(last), end)
    return n


def _reported_raw(session: Session, principal: Principal, area: Area, filters: LayerFilters, start: datetime,
                  end: datetime) -> int:
    """Counted cases reported from `start` (inclusive) to `end` (exclusive), from the case reports."""
    where, params = case_where(principal, area, filters, since=None, until=None)
    params.update(start=start, end=end)
    sql = f"SELECT count(*) FROM case_report c WHERE {where} AND c.report_time >= :start AND c.report_time < :end"
    return int(session.execute(text(sql), params).scalar() or 0)


def elapsed_if_today(day: date) -> timedelta | None:
    """How much of `day` has passed when it is today (CST), else None: compare a day in progress like for like."""
    now = datetime.now(CST)
    return now - _day_start(day) if day == now.date() else None


def _change(current: int, previous: int) -> float | None:
    return None if previous == 0 else round((current - previous) * 100.0 / previous, 1)


def kpis(session: Session, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    """Cases reported today / 7 days / 28 days up to `filters.until` (default today) with year-on-year change."""
    area = resolve_area(session, principal, filters.region)
    end = filters.until or today_cst()
    day_part = elapsed_if_today(end)  # today in progress: last year's same day up to the same time of day
    out: dict[str, Any] = {"as_of": end.isoformat(), "area": area.code}
    for key, days in (("today", 1), ("days7", 7), ("days28", 28)):
        first = end - timedelta(days=days - 1)
        current = reported_between(session, principal, area, filters, first, end)
        previous = reported_between(session, principal, area, filters, same_day_last_year(first),
                                    same_day_last_year(end), day_part=day_part)
        out[key] = {"cases": current, "last_year": previous, "yoy_pct": _change(current, previous),
                    "definition": KPI_DEFINITIONS[key]}
    out["signals"] = signals_by_state(session, principal, filters)
    return out


def signals_by_state(session: Session, principal: Principal, filters: LayerFilters) -> dict[str, int]:
    """Active signals (not excluded / closed) in scope and area by state, every active state present."""
    area = resolve_area(session, principal, filters.region)
    where, params = signal_where(principal, area, filters.model_copy(update={"since": None, "bbox": None}))
    sql = f"""SELECT s.state, count(*) FROM signal s LEFT JOIN region r ON r.code = s.region_code
              WHERE {where} GROUP BY s.state"""
    counts = {state: 0 for state in STATE_ZH if state not in INACTIVE_STATES}
    counts.update({state: int(n) for state, n in session.execute(text(sql), params)})
    return counts


def qc(session: Session, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    """Quality indicators of cases reported in the period (report date, CST), each with its definition."""
    area = resolve_area(session, principal, filters.region)
    since, until = filters.period()
    r = session.execute(*_quality_counts(principal, area, filters, since, until)).one()
    n, pop = int(r.n), area.population

    def pct(k: int) -> float | None:
        return round(k * 100.0 / n, 1) if n else None

    def per100k(k: int) -> float | None:
        return round(k * 100000.0 / pop, 2) if pop else None

    values = {"incidence": per100k(n), "death_rate": per100k(int(r.deaths)), "cfr": pct(int(r.deaths)),
              "report_timeliness": pct(int(r.timely)), "audit_timeliness": pct(int(r.audited)),
              "completeness": pct(int(r.complete))}
    return {"since": since.isoformat(), "until": until.isoformat(), "cases": n, "deaths": int(r.deaths),
            "population": pop, "values": values, "definitions": QC_DEFINITIONS}


def _quality_counts(principal: Principal, area: Area, filters: LayerFilters, since: date, until: date
                    ) -> tuple[TextClause, dict[str, Any]]:
    """The query of the QC counts (n and QUALITY_COUNTS) of cases reported from `since` to `until` (CST days):
    summed from the daily rollup by report day where it can answer, else counted from the case reports."""
    rollup = rollup_where(principal, area, filters, basis="report", since=since, until=until)
    if rollup is not None:
        where, params = rollup
        sums = ", ".join(f"coalesce(sum(d.{c}), 0) AS {c}" for c in COUNTS)
        return text(f"SELECT {sums} FROM case_daily d WHERE {where}"), params
    where, params = case_where(principal, area, filters, since=None, until=None)
    params.update(start=_day_start(since), end=_day_start(until + timedelta(days=1)))
    counts = ", ".join(f"count(*) FILTER (WHERE {condition}) AS {name}" for name, condition in QUALITY_COUNTS.items())
    return text(f"SELECT count(*) AS n, {counts} FROM case_report c "
                f"WHERE {where} AND c.report_time >= :start AND c.report_time < :end"), params


def _onset_counts(principal: Principal, area: Area, filters: LayerFilters, since: date, until: date
                  ) -> tuple[str, dict[str, Any]]:
    """A subquery of counted cases by onset day (day, disease_code, n): the daily rollup where it can answer."""
    rollup = rollup_where(principal, area, filters, basis="onset", since=since, until=until, alias="k")
    if rollup is not None:
        where, params = rollup
        return f"(SELECT k.day, k.disease_code, k.n FROM case_daily k WHERE {where})", params
    where, params = case_where(principal, area, filters, since=since, until=until)
    return f"(SELECT c.onset_date AS day, c.disease_code, 1 AS n FROM case_report c WHERE {where})", params


def epicurve(session: Session, principal: Principal, filters: LayerFilters, *, top: int = 5) -> dict[str, Any]:
    """Daily counted cases by onset date in the period, split into the `top` diseases and 其他."""
    area = resolve_area(session, principal, filters.region)
    since, until = filters.period()
    counted, params = _onset_counts(principal, area, filters, since, until)
    sql = f"""SELECT x.day, x.disease_code, d.name, sum(x.n) AS n
              FROM {counted} x JOIN disease d ON d.code = x.disease_code GROUP BY 1, 2, 3"""
    rows = list(session.execute(text(sql), params))
    totals: dict[str, int] = {}
    names: dict[str, str] = {}
    for r in rows:
        totals[r.disease_code] = totals.get(r.disease_code, 0) + int(r.n)
        names[r.disease_code] = r.name
    keep = sorted(totals, key=lambda k: (-totals[k], k))[:top]
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    series: dict[str, list[int]] = {code: [0] * len(days) for code in keep}
    other = [0] * len(days)
    for r in rows:
        i = (r.day - since).days
        if r.disease_code in series:
            series[r.disease_code][i] += int(r.n)
        else:
            other[i] += int(r.n)
    traces = [{"code": c, "name": names[c], "counts": series[c]} for c in keep]
    if any(other):
        traces.append({"code": "other", "name": "其他", "counts": other})
    return {"days": [d.isoformat() for d in days], "traces": traces, "total": sum(totals.values())}


def top_diseases(session: Session, principal: Principal, filters: LayerFilters, *, n: int = 10) -> list[dict[str, Any]]:
    """The `n` diseases with most counted cases (onset in the period), with rate per 100k where known."""
    area = resolve_area(session, principal, filters.region)
    since, until = filters.period()
    counted, params = _onset_counts(principal, area, filters, since, until)
    params["n"] = n
    sql = f"""SELECT x.disease_code, d.name, d.klass, sum(x.n) AS cases
              FROM {counted} x JOIN disease d ON d.code = x.disease_code
              GROUP BY 1, 2, 3 ORDER BY cases DESC, x.disease_code LIMIT :n"""
    pop = area.population
    return [{"code": r.disease_code, "name": r.name, "klass": r.klass, "cases": int(r.cases),
             "rate": round(r.cases * 100000.0 / pop, 2) if pop else None}
            for r in session.execute(text(sql), params)]


def signal_list(session: Session, principal: Principal, filters: LayerFilters, *, limit: int = 50) -> list[dict[str, Any]]:
    """Active signals of the area, newest first, for the list panel."""
    from layers.signals import signals_layer

    fc = signals_layer(session, principal, filters.model_copy(update={"limit": limit, "since": None, "bbox": None}))
    return [f["properties"] for f in fc["features"]]


def monitor_summary(session: Session, principal: Principal, filters: LayerFilters) -> dict[str, Any]:
    """KPIs, QC indicators, top diseases and the epidemic curve: the monitor's panels in one answer."""
    return {"kpis": kpis(session, principal, filters), "qc": qc(session, principal, filters),
            "top_diseases": top_diseases(session, principal, filters),
            "epicurve": epicurve(session, principal, filters)}
