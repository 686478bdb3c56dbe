"""The briefing's figures and its written summary (Chinese), shared by the printable page and the Word file.

Counts are integers, rates one decimal; the summary is built from the same figures the tables show.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import Feature
from layers import indicators
from layers.base import LayerFilters, resolve_area

Period = Literal["day", "week"]


@dataclass(frozen=True)
class PeriodWords:
    kind: str  # 日报 / 周报
    this: str  # 当日 / 本周
    previous: str  # 前一日 / 上周
    days: int


PERIODS: dict[str, PeriodWords] = {"day": PeriodWords("日报", "当日", "前一日", 1),
                                   "week": PeriodWords("周报", "本周", "上周", 7)}
RISE_MIN_CASES = 3  # a disease is "rising" with at least this many more cases …
RISE_MIN_PCT = 50.0  # … and this much more than in the previous period


def fmt_count(v: float | int | None) -> str:
    return "—" if v is None else f"{round(v):d}"


def fmt_rate(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def fmt_number(v: float | int | None) -> str:
    """A count as an integer, any other value (rate, score) to one decimal."""
    if v is None:
        return "—"
    return fmt_count(v) if float(v).is_integer() else fmt_rate(float(v))


def fmt_change(pct: float | None) -> str:
    return "—" if pct is None else f"{pct:+.1f}%"


def period_bounds(end: date, period: Period) -> tuple[date, date, date, date]:
    """(since, until, previous since, previous until) of the briefing period ending on `end`."""
    days = PERIODS[period].days
    since = end - timedelta(days=days - 1)
    return since, end, since - timedelta(days=days), since - timedelta(days=1)


def title(area_name: str, period: Period, end: date) -> str:
    return f"{area_name}传染病监测预警{PERIODS[period].kind}（{end:%Y年%m月%d日}）"


def _change_pct(current: int, previous: int) -> float | None:
    return None if previous == 0 else round((current - previous) * 100.0 / previous, 1)


def _rose(current: int, previous: int) -> bool:
    """Up by RISE_MIN_CASES or more, and by RISE_MIN_PCT or more unless there were none before."""
    change = _change_pct(current, previous)
    return current - previous >= RISE_MIN_CASES and (change is None or change >= RISE_MIN_PCT)


def _fired_on(iso: str | None) -> date | None:
    return datetime.fromisoformat(iso).date() if iso else None  # Beijing-time ISO from the signals layer


def figures(session: Session, principal: Principal, filters: LayerFilters, period: Period,
            kpis: dict[str, Any], signals: list[dict[str, Any]], top: list[dict[str, Any]]) -> dict[str, Any]:
    """The period's headline figures: cases and their change, signals raised / awaiting verification, rising diseases."""
    assert filters.until is not None
    area = resolve_area(session, principal, filters.region)
    since, until, prev_since, prev_until = period_bounds(filters.until, period)
    cases = indicators.reported_between(session, principal, area, filters, since, until)
    previous = indicators.reported_between(session, principal, area, filters, prev_since, prev_until,
                                           day_part=indicators.elapsed_if_today(until))
    yoy = kpis["today" if period == "day" else "days7"]
    before = {r["code"]: r["cases"] for r in indicators.top_diseases(
        session, principal, filters.model_copy(update={"since": prev_since, "until": prev_until}), n=50)}
    rising = [{**r, "previous": before.get(r["code"], 0)} for r in top
              if _rose(r["cases"], before.get(r["code"], 0))]
    raised = [s for s in signals if (d := _fired_on(s.get("first_fired_at"))) and since <= d <= until]
    states = kpis["signals"]
    return {"area": area.name, "period": period, "since": since, "until": until, "cases": cases,
            "previous": previous, "change_pct": _change_pct(cases, previous), "last_year": yoy["last_year"],
            "yoy_pct": yoy["yoy_pct"], "signals_raised": len(raised), "signals_open": sum(states.values()),
            "signals_pending": states.get("new", 0) + states.get("verifying", 0), "top": top[:3], "rising": rising[:3]}


def _trend(current: int, previous: int, pct: float | None, against: str) -> str:
    if current == previous:
        return f"与{against}持平"
    direction = "上升" if current > previous else "下降"
    return f"较{against}（{previous}例）{direction}{'' if pct is None else f'{abs(pct):.1f}%'}".rstrip()


def summary_zh(f: dict[str, Any]) -> list[str]:
    """Three short paragraphs: cases and change, signals, what to watch."""
    words = PERIODS[f["period"]]
    top = "、".join(f"{r['name']}{r['cases']}例" for r in f["top"])
    first = (f"{words.this}{f['area']}共报告法定传染病{f['cases']}例，"
             f"{_trend(f['cases'], f['previous'], f['change_pct'], words.previous)}")
    if f["last_year"] or f["cases"]:
        first += f"，{_trend(f['cases'], f['last_year'], f['yoy_pct'], '去年同期')}"
    first += f"。按发病日期居前的病种为{top}。" if top else "。"
    second = (f"{words.this}新触发预警信号{f['signals_raised']}条；目前活动信号{f['signals_open']}条，"
              f"其中待核实（新信号及核实中）{f['signals_pending']}条。")
    watch = [f"{r['name']}（{r['cases']}例，{words.previous}{r['previous']}例）" for r in f["rising"]]
    if watch:
        third = f"需关注：{'、'.join(watch)}病例数明显上升"
        third += f"；请及时核实{f['signals_pending']}条待核实信号。" if f["signals_pending"] else "。"
    elif f["signals_pending"]:
        third = f"需关注：请及时核实{f['signals_pending']}条待核实信号；各病种病例数未见明显上升。"
    else:
        third = "需关注：各病种病例数未见明显上升，无待核实信号，继续常规监测。"
    return [first, second, third]


def collect(session: Session, principal: Principal, filters: LayerFilters, period: Period,
            signal_features: list[Feature]) -> dict[str, Any]:
    """Everything the briefing's text and tables show: KPIs, QC, top diseases, signals, figures, summary."""
    k = indicators.kpis(session, principal, filters)
    top = indicators.top_diseases(session, principal, filters)
    signals = [f["properties"] for f in signal_features]
    fig = figures(session, principal, filters, period, k, signals, top)
    return {"k": k, "q": indicators.qc(session, principal, filters), "top": top, "signals": signals, "fig": fig,
            "summary": summary_zh(fig), "words": PERIODS[period]}
