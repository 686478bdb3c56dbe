"""Backtest the warning models over the stored history against the demo's injected outbreaks.

The count-series models are causal, so one pass over the whole history gives every day's alarm
exactly as a daily run would have seen it (by onset date, with all reports known — a backtest
does not replay reporting delays). Alarms of one series that follow each other within the dedup
window are one signal, as `service.raise_alarm` merges them. Farrington flexible runs on the ISO weeks
and alarms on each alarm week's Sunday (as the runner, `alerting.farrington_alarms`). The scan runs once a week over the
last 30 days with fewer replications. A signal is "inside" an injected outbreak when its disease
(or syndrome), place (street, its district, a sentinel institution or a scan cluster member) and
first day (outbreak start … end + 7 days) match the ground truth in setting "demo.outbreaks".

Every alarm day also becomes an `AlarmFact`, and the facts are fused day by day into warning events with
the runner's own `alerting.events.EventBook`: the report gives the events that reached the inbox per
district-week and, per outbreak, the first event graded at or above the inbox grade (day offset, grade).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import series as sq
from alerting.backtest_truth import detection_row, event_detection, format_detections, ground_truth
from alerting.cluster_alarms import MODEL as CLUSTER_MODEL
from alerting.cluster_alarms import clusters_by_district, read_cases
from alerting.config import WarnConfig, load_config
from alerting.detectors.cusum import cusum
from alerting.detectors.ears import ears_c
from alerting.detectors.farrington import farrington_flexible
from alerting.detectors.moving_percentile import moving_percentile
from alerting.detectors.scan import space_time_permutation_scan
from alerting.detectors.threshold import count_threshold
from alerting.event_facts import disease_infos, populations
from alerting.events import AlarmFact, EventBook, EventState
from alerting.farrington_alarms import first_full_monday, last_completed_sunday, to_weeks
from store.places import Institution, Region


@dataclass(frozen=True)
class BtSignal:
    model: str
    day: date
    region: str
    disease: str | None = None
    syndrome: str | None = None
    institution: str | None = None
    members: tuple[str, ...] = ()


@dataclass
class BacktestReport:
    start: date
    end: date
    signals: list[BtSignal] = field(default_factory=list)
    inside: dict[int, str] = field(default_factory=dict)  # index in signals → outbreak key
    outbreaks: list[dict[str, Any]] = field(default_factory=list)
    district: str = ""
    facts: dict[date, list[AlarmFact]] = field(default_factory=lambda: defaultdict(list))
    events: list[EventState] = field(default_factory=list)
    inbox_min_grade: str = "yellow"

    def per_model_month(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for s in self.signals:
            table[s.model][s.day.strftime("%Y-%m")] += 1
        return table

    def share_inside(self) -> dict[str, tuple[int, int]]:
        """Per model: (signals inside an injected outbreak, all signals)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for i, s in enumerate(self.signals):
            out[s.model][1] += 1
            out[s.model][0] += i in self.inside
        return {k: (v[0], v[1]) for k, v in out.items()}

    def detections(self) -> dict[str, dict[str, int]]:
        """Per outbreak: each model's first detection, in days after the outbreak's first onset."""
        found: dict[str, dict[str, int]] = {o["key"]: {} for o in self.outbreaks}
        starts = {o["key"]: o["start"] for o in self.outbreaks}
        for i, key in self.inside.items():
            s = self.signals[i]
            delay = (s.day - starts[key]).days
            found[key][s.model] = min(delay, found[key].get(s.model, delay))
        return found

    def inbox_events(self) -> list[EventState]:
        """Events that reached the inbox grade."""
        return [e for e in self.events if e.reached_day is not None]

    def events_per_district_week(self) -> float:
        weeks = ((self.end - self.start).days + 1) / 7
        return round(len(self.inbox_events()) / weeks, 3) if weeks > 0 else 0.0

    def outbreak_events(self) -> dict[str, dict[str, Any] | None]:
        """Per outbreak: its first event at or above the inbox grade (`backtest_truth.detection_row`).

        The event must carry an alarm of the outbreak (its disease, or its sentinel syndrome, at its street, on or
        after the first onset); it counts from the later of that alarm's day and the day the event reached the
        inbox grade. `day_offset` is in days after the first case's onset; `new_event` tells whether the event
        began with the outbreak or was open already.
        """
        out: dict[str, dict[str, Any] | None] = {}
        for o in self.outbreaks:
            hits = [h for e in self.inbox_events() if (h := event_detection(e, o, self.inbox_min_grade))]
            out[o["key"]] = detection_row(o, min(hits, key=lambda h: h["day"]) if hits else None)
        return out

    def as_json(self) -> dict[str, Any]:
        share = self.share_inside()
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "district_code": self.district,
                "signals": len(self.signals),
                "signals_per_model_month": {m: dict(sorted(c.items())) for m, c in sorted(self.per_model_month().items())},
                "share_inside": {m: {"inside": a, "total": b} for m, (a, b) in sorted(share.items())},
                "detections": self.detections(), "events": len(self.events),
                "inbox_events": len(self.inbox_events()), "inbox_min_grade": self.inbox_min_grade,
                "events_per_district_week": self.events_per_district_week(),
                "outbreak_events": self.outbreak_events()}

    def format(self) -> str:
        """Signals per model and month, the share inside injected outbreaks, and each outbreak's detections."""
        table = self.per_model_month()
        months = sorted({m for c in table.values() for m in c})
        models = sorted(table)
        lines = [f"回测 {self.start} … {self.end}: {len(self.signals)} 个信号", "",
                 "每月信号数 (signals per model and month)",
                 "month    " + "".join(f"{m:>18}" for m in models)]
        for month in months:
            lines.append(f"{month:<9}" + "".join(f"{table[m][month]:>18}" for m in models))
        lines.append(f"{'total':<9}" + "".join(f"{sum(table[m].values()):>18}" for m in models))
        lines += ["", "落在注入暴发内的比例 (share inside injected outbreaks)"]
        for model, (inside, total) in sorted(self.share_inside().items()):
            lines.append(f"  {model:<18} {inside:>5} / {total:<6} = {inside / total if total else 0:6.1%}")
        lines += ["", "注入暴发的检出 (first detection, days after first onset)"]
        for key, found in self.detections().items():
            shown = ", ".join(f"{m} +{d}d" for m, d in sorted(found.items(), key=lambda kv: kv[1])) or "未检出"
            lines.append(f"  {key}: {shown}")
        lines += ["", f"预警事件 (warning events): {len(self.events)}，达到推送等级 {len(self.inbox_events())}，"
                      f"events_per_district_week = {self.events_per_district_week()}"]
        lines += format_detections(self.outbreak_events())
        return "\n".join(lines)


def _episodes(alarm: np.ndarray, gap: int) -> list[int]:
    """First day index of each run of alarms whose gaps are at most `gap` days."""
    idx = np.flatnonzero(alarm)
    if idx.size == 0:
        return []
    starts = [int(idx[0])]
    for prev, cur in zip(idx[:-1], idx[1:], strict=True):
        if cur - prev > gap:
            starts.append(int(cur))
    return starts


@dataclass(frozen=True)
class BtSeries:
    """One detector series over the backtest's days: what it is about, its alarm days and its values."""

    model: str
    source: str  # cases | syndromic
    region: str
    alarm: np.ndarray
    observed: np.ndarray
    expected: np.ndarray | None
    disease: str | None = None
    syndrome: str | None = None
    institution: str | None = None


def _record(report: BacktestReport, s: BtSeries, dates: pd.DatetimeIndex, gap: int) -> None:
    """A signal per episode of the series (alarms at most `gap` days apart) and a fact per alarm day."""
    for i in _episodes(s.alarm, gap):
        report.signals.append(BtSignal(model=s.model, day=dates[i].date(), region=s.region, disease=s.disease,
                                       syndrome=s.syndrome, institution=s.institution))
    _facts(report, s, dates)


def _facts(report: BacktestReport, s: BtSeries, dates: pd.DatetimeIndex) -> None:
    """Every alarm day of one series as a fact for the event fusion (as the runner's `event_facts.fact_of`)."""
    for t in np.flatnonzero(s.alarm):
        exp = None if s.expected is None or not np.isfinite(s.expected[t]) else float(s.expected[t])
        report.facts[dates[t].date()].append(AlarmFact(
            model=s.model, source=s.source, district=report.district, place=s.region, day=dates[t].date(),
            disease=s.disease, syndrome=s.syndrome, observed=float(s.observed[t]), expected=exp,
            label=f"{s.model} {s.region}"))


def _fuse(session: Session, report: BacktestReport, cfg: WarnConfig) -> None:
    """The day-by-day facts through the runner's EventBook."""
    book = EventBook(cfg.events, disease_infos(session), populations(session, report.district or None))
    for day in sorted(report.facts):
        book.add_day(report.facts[day], day)
    report.events = book.events


def _matches(s: BtSignal, o: dict[str, Any]) -> bool:
    if not o["start"] <= s.day <= o["stop"]:
        return False
    street = o["street_code"]
    if s.syndrome is not None:
        return s.syndrome == o.get("syndrome") and s.institution in (o.get("sentinel_codes") or [])
    if s.disease != o["disease_code"]:
        return False
    return s.region in (street, street[:6]) or street in s.members


def run_backtest(session: Session, *, district_code: str, start: date | None = None, end: date | None = None,
                 config: WarnConfig | None = None, scan_every_days: int = 7, scan_replications: int = 99) -> BacktestReport:
    """All models over the history of one district; signals per model and month and their match to the truth."""
    cfg = config or load_config(session)
    truth_end, outbreaks = ground_truth(session)
    first = sq.first_case_day(session, district_code=district_code)
    end = end or truth_end or date.today()
    start = start or first or end - timedelta(days=365)
    report = BacktestReport(start=start, end=end, outbreaks=outbreaks, district=district_code,
                            inbox_min_grade=cfg.events.inbox_min_grade)
    streets = sq.case_counts(session, level="street", start=start, end=end, district_code=district_code)
    districts = sq.case_counts(session, level="district", start=start, end=end, district_code=district_code)
    dates = pd.DatetimeIndex(streets.columns)
    for frame in (streets, districts):
        _moving_percentile(report, frame, dates, cfg)
    _cusum(report, streets, dates, cfg)
    _count_thresholds(report, streets, dates, cfg)
    _case_clusters(session, report, start, end, cfg)
    for frame, level in ((streets, "street"), (districts, "district")):
        if level in cfg.farrington.levels and cfg.farrington.enabled:
            _farrington(report, frame, dates, cfg)
    _ears(session, report, district_code, start, end, cfg)
    _scan(session, report, district_code, streets, cfg, every=scan_every_days, replications=scan_replications)
    _fuse(session, report, cfg)
    _match_outbreaks(report)
    return report


def _match_outbreaks(report: BacktestReport) -> None:
    """Each signal's outbreak (the first it matches), if any."""
    for i, s in enumerate(report.signals):
        for o in report.outbreaks:
            if _matches(s, o):
                report.inside[i] = o["key"]
                break


def _moving_percentile(report: BacktestReport, frame: pd.DataFrame, dates: pd.DatetimeIndex, cfg: WarnConfig) -> None:
    if frame.empty:
        return
    p = cfg.moving_percentile
    res = moving_percentile(frame.to_numpy(), dates, window=p.window, years=p.years, weeks_around=p.weeks_around,
                            percentile=p.percentile, min_count=p.min_count,
                            min_baseline_windows=p.min_baseline_windows)
    for i, (region, disease) in enumerate(frame.index):
        r = res.series(i)
        _record(report, BtSeries("moving_percentile", "cases", region, np.asarray(r.alarm), r.observed, r.threshold,
                                 disease=disease), dates, cfg.dedup_days)


def _cusum(report: BacktestReport, streets: pd.DataFrame, dates: pd.DatetimeIndex, cfg: WarnConfig) -> None:
    if streets.empty:
        return
    values = streets.to_numpy()
    c = cfg.cusum
    res = cusum(values, k=c.k, h=c.h, reference="moving", baseline=c.baseline, guard=c.guard,
                min_sigma=c.min_sigma, dates=dates)
    week = np.cumsum(values, axis=1)
    week[:, 7:] = week[:, 7:] - week[:, :-7]
    alarm = np.asarray(res.alarm) & (week >= c.min_count)
    mean = np.asarray(res.extra["baseline_mean"])
    for i, (region, disease) in enumerate(streets.index):
        _record(report, BtSeries("cusum", "cases", region, alarm[i], values[i], mean[i], disease=disease),
                dates, cfg.dedup_days)


def _count_thresholds(report: BacktestReport, streets: pd.DataFrame, dates: pd.DatetimeIndex,
                      cfg: WarnConfig) -> None:
    if streets.empty:
        return
    values = streets.to_numpy()
    for disease, rule in cfg.count_thresholds.items():
        mask = streets.index.get_level_values("disease_code") == disease
        if not mask.any():
            continue
        res = count_threshold(values[mask], rule.min_cases, rule.window, dates=dates)
        for j, (region, _) in enumerate(streets.index[mask]):
            r = res.series(j)
            _record(report, BtSeries("count_threshold", "cases", region, np.asarray(r.alarm), r.observed,
                                     r.threshold, disease=disease), dates, cfg.dedup_days)


def _case_clusters(session: Session, report: BacktestReport, start: date, end: date, cfg: WarnConfig) -> None:
    """Case clusters replayed day by day (as the runner's `cluster_alarms`, all reports known)."""
    for disease, rule in cfg.case_clusters.items():
        cases = read_cases(session, disease=disease, rule=rule, start=start, end=end, district_code=report.district)
        last: dict[str, date] = {}
        for day in range(start.toordinal(), end.toordinal() + 1):
            for district, cl in clusters_by_district(cases, day, rule):
                streets, when = cases.streets(cl), date.fromordinal(day)
                report.facts[when].append(AlarmFact(
                    model=CLUSTER_MODEL, source="cases", district=district, place=streets[0], day=when,
                    disease=disease, members=tuple(streets), observed=float(len(cl.members)),
                    label=f"{CLUSTER_MODEL} {streets[0]}"))
                if streets[0] not in last or (when - last[streets[0]]).days > cfg.dedup_days:
                    report.signals.append(BtSignal(model=CLUSTER_MODEL, day=when, region=streets[0], disease=disease,
                                                   members=tuple(streets)))
                last[streets[0]] = when


def _farrington(report: BacktestReport, frame: pd.DataFrame, dates: pd.DatetimeIndex, cfg: WarnConfig) -> None:
    """farringtonFlexible on the ISO weeks of every series; an alarm week is a fact on its Sunday (as the runner)."""
    f = cfg.farrington
    if frame.empty or len(dates) < 7:
        return
    monday, sunday = first_full_monday(dates[0].date()), last_completed_sunday(dates[-1].date())
    weeks = to_weeks(frame, monday, sunday)
    values = weeks.to_numpy()
    if values.shape[1] < f.weeks_needed():
        return
    cases, span = f.limit54
    recent = np.cumsum(values, axis=1)
    recent[:, span:] = recent[:, span:] - recent[:, :-span]
    rows = np.flatnonzero(((recent >= cases) & (values > 0))[:, f.weeks_needed() - 1:].any(axis=1))
    if rows.size == 0:
        return
    with np.errstate(over="ignore"):
        res = farrington_flexible(values[rows], dates=weeks.columns, **f.control())
    sundays = dates.get_indexer(pd.DatetimeIndex(weeks.columns) + pd.Timedelta(days=6))
    for j, row in enumerate(rows):
        region, disease = weeks.index[row]
        r = res.series(j)
        alarm, observed, expected = np.zeros(len(dates), bool), np.zeros(len(dates)), np.full(len(dates), np.nan)
        alarm[sundays] = np.asarray(r.alarm, dtype=bool)
        observed[sundays], expected[sundays] = values[row], np.asarray(r.extra["expected"], dtype=float)
        _record(report, BtSeries("farrington_flexible", "cases", region, alarm, observed, expected, disease=disease),
                dates, cfg.dedup_days)


def _ears(session: Session, report: BacktestReport, district: str, start: date, end: date, cfg: WarnConfig) -> None:
    synd = sq.syndromic_counts(session, start=start, end=end, district_code=district, syndromes=cfg.ears.syndromes)
    if synd.empty:
        return
    codes = dict(session.execute(select(Institution.id, Institution.code)).all())
    regions = dict(session.execute(select(Institution.id, Institution.region_code)).all())
    dates = pd.DatetimeIndex(synd.columns)
    values = synd.to_numpy()
    for method in cfg.ears.methods:
        res = ears_c(values, method, baseline=cfg.ears.baseline, min_sigma=cfg.ears.min_sigma, dates=dates,
                     c3_form=cfg.ears.c3_form)  # c3_form counts only for C3
        alarm = np.asarray(res.alarm) & (values >= cfg.ears.min_count)
        mean = np.asarray(res.extra["baseline_mean"])
        for i, (inst, syndrome) in enumerate(synd.index):
            series = BtSeries(f"ears_{method.lower()}", "syndromic", regions.get(inst) or district, alarm[i],
                              values[i], mean[i], syndrome=syndrome, institution=codes.get(inst))
            _record(report, series, dates, cfg.dedup_days)


def _scan(session: Session, report: BacktestReport, district: str, streets: pd.DataFrame, cfg: WarnConfig, *,
          every: int, replications: int) -> None:
    sc = cfg.scan
    locs = session.execute(select(Region.code, Region.label_point).where(
        Region.level == "street", Region.district_code == district).order_by(Region.code)).all()
    if streets.empty or len(locs) < 2:
        return
    from geoalchemy2.shape import to_shape

    codes = [c for c, _ in locs]
    coords = np.array([[to_shape(p).x, to_shape(p).y] for _, p in locs])
    dates = pd.DatetimeIndex(streets.columns)
    open_until: dict[tuple[str, str], date] = {}
    for t in range(sc.study_days - 1, len(dates), every):
        window = streets.iloc[:, t - sc.study_days + 1: t + 1]
        totals = window.groupby(level="disease_code").sum().sum(axis=1)
        for disease in totals[totals >= sc.min_cases].index:
            part = window[window.index.get_level_values("disease_code") == disease]
            counts = part.droplevel("disease_code").reindex(codes, fill_value=0)
            res = space_time_permutation_scan(counts, coords, max_share=sc.max_share, max_days=sc.max_days,
                                              replications=replications, seed=t)
            for cl in res.significant(max(sc.alpha, 1.0 / (replications + 1))):
                day = dates[t].date()
                report.facts[day].append(AlarmFact(
                    model="scan", source="cases", district=district, place=cl.centre, day=day, disease=disease,
                    members=tuple(cl.locations), observed=float(cl.observed), expected=float(cl.expected),
                    p_value=float(cl.p_value), label=f"scan {cl.centre}"))
                key = (disease, cl.centre)
                if key in open_until and (day - open_until[key]).days <= cfg.dedup_days:
                    open_until[key] = day
                    continue
                open_until[key] = day
                report.signals.append(BtSignal(model="scan", day=day, region=cl.centre, disease=disease,
                                               members=tuple(cl.locations)))
