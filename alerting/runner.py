"""Run every warning model over the database for one day and turn alarms into signals.

Models: single-case list and per-disease count thresholds (fixed threshold), case clusters of children's homes
(`alerting.cluster_alarms`, HFMD by default), the CIDARS moving
percentile per region × disease (streets and districts), Farrington flexible on ISO-week counts per
region × disease (`alerting.farrington_alarms`), EARS C1/C2/C3 on syndromic counts per sentinel
institution, CUSUM per street × disease, and the space-time permutation scan over a district's streets.
An alarm on any of the last `lookback_days` days counts; its day is the signal's `window_end`, so a
re-run of the same data changes nothing (dedup: `service.raise_alarm`'s rules, applied to the whole run at once by
`alerting.alarm_writes`), and while no input changed the last run's alarms are taken again (`alerting.run_reuse`).
Every alarm's evidence is one `alerting.evidence.Evidence`.
Alarms are kept as evidence (signal kind 'alarm') and fused into graded warning events
(`alerting.event_loop`), which alone enter the loop, the inbox and the push to institutions.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from geoalchemy2.shape import to_shape
from shapely.ops import unary_union
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alerting import run_reuse
from alerting import series as sq
from alerting.alarm_writes import raise_alarms
from alerting.cluster_alarms import case_cluster_alarms
from alerting.config import WarnConfig, load_config
from alerting.detectors.base import DetectionResult
from alerting.detectors.cusum import cusum
from alerting.detectors.ears import ears_c
from alerting.detectors.moving_percentile import baseline_positions, moving_percentile
from alerting.detectors.scan import space_time_permutation_scan
from alerting.detectors.threshold import count_threshold
from alerting.event_loop import fuse_alarms
from alerting.evidence import Evidence, json_number, series_tail
from alerting.farrington_alarms import farrington_alarms
from alerting.service import Alarm, Publish
from geo.dates import CST
from store.cases import CaseReport, Disease
from store.places import Region

SYNDROME_ZH = {"fever": "发热", "diarrhoea": "腹泻", "ili": "流感样病例", "ari": "急性呼吸道感染"}
MODELS = ("single_case", "count_threshold", "case_cluster", "moving_percentile", "farrington_flexible", "ears", "cusum", "scan")


@dataclass
class RunReport:
    """What one run did: alarms and signals per model, timings, and the signals touched."""

    as_of: date
    district_code: str | None
    seconds: float = 0.0
    model_seconds: dict[str, float] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    alarms: dict[str, int] = field(default_factory=dict)
    created: int = 0
    refired: int = 0
    unchanged: int = 0
    signal_ids: list[int] = field(default_factory=list)
    events_created: int = 0
    events_graded: int = 0
    events_notified: int = 0
    event_ids: list[int] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # model → why it did not run
    reused: bool = False  # the models' alarms are those of the last run of the same inputs (`run_reuse`)

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "district_code": self.district_code,
                "seconds": round(self.seconds, 3),
                "model_seconds": {k: round(v, 3) for k, v in self.model_seconds.items()},
                "series": self.series, "alarms": self.alarms, "created": self.created, "refired": self.refired,
                "unchanged": self.unchanged, "events_created": self.events_created,
                "events_graded": self.events_graded, "events_notified": self.events_notified,
                "skipped": self.skipped, "reused": self.reused}


@dataclass
class _Ctx:
    session: Session
    cfg: WarnConfig
    as_of: date
    district_code: str | None
    diseases: dict[str, Disease]
    regions: dict[str, Region]


@dataclass(frozen=True)
class SeriesAlarm:
    """How one detector series becomes an alarm: what it counts where, its title, extra evidence, gate and push."""

    region: str
    disease: str | None
    level: str  # street | district | institution
    counts: np.ndarray
    title: str
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)  # more daily series for the evidence chart
    details: Mapping[str, Any] = field(default_factory=dict)  # the model's own evidence keys (written last)
    scope_key: str | None = None
    push_institution_ids: Sequence[int] = ()
    push_regions: Sequence[str] = ()  # default: the region itself
    min_count: float = 0.0  # no alarm below this count on the alarm day
    min_count_on: np.ndarray | None = None  # the counts that gate reads (default: `counts`)


def _last_alarm(alarm: np.ndarray, lookback: int) -> int | None:
    """Index of the latest alarm within the last `lookback` days, or None."""
    tail = np.flatnonzero(alarm[-lookback:])
    return None if tail.size == 0 else len(alarm) - lookback + int(tail[-1])


def _region_name(ctx: _Ctx, code: str | None) -> str:
    region = ctx.regions.get(code or "")
    return region.name if region else (code or "")


def _disease_name(ctx: _Ctx, code: str | None) -> str:
    d = ctx.diseases.get(code or "")
    return d.name if d else (code or "")


def _geometry(ctx: _Ctx, codes: Iterable[str]) -> Any:
    shapes = [to_shape(ctx.regions[c].geom) for c in codes if c in ctx.regions and ctx.regions[c].geom is not None]
    return unary_union(shapes) if shapes else None


def _day(dates: pd.Index, i: int) -> date:
    day: date = pd.Timestamp(dates[i]).date()
    return day


# ---------------------------------------------------------------- fixed threshold

def single_case_alarms(ctx: _Ctx) -> list[Alarm]:
    """Any case of a single-case disease reported in the last `lookback_days` days raises at once."""
    start = ctx.as_of - timedelta(days=ctx.cfg.lookback_days - 1)
    stmt = (select(CaseReport.id, CaseReport.disease_code, CaseReport.region_code, CaseReport.district_code,
                   CaseReport.onset_date, CaseReport.report_time)
            .join(Disease, Disease.code == CaseReport.disease_code)
            .where(Disease.single_case.is_(True), CaseReport.report_time >= sq.end_of_day(start - timedelta(days=1)),
                   CaseReport.report_time < sq.end_of_day(ctx.as_of)).order_by(CaseReport.report_time))
    if ctx.district_code:
        stmt = stmt.where(CaseReport.district_code == ctx.district_code)
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in ctx.session.execute(stmt):
        groups.setdefault((row.region_code or row.district_code, row.disease_code), []).append(row)
    return [_single_case_alarm(ctx, region, disease, rows, start) for (region, disease), rows in groups.items()]


def _single_case_alarm(ctx: _Ctx, region: str, disease: str, rows: list[Any], start: date) -> Alarm:
    last = rows[-1].report_time.astimezone(CST).date()
    cases = [{"id": r.id, "onset_date": r.onset_date.isoformat(),
              "report_date": r.report_time.astimezone(CST).date().isoformat(), "region_code": r.region_code}
             for r in rows]
    name = _disease_name(ctx, disease)
    evidence = Evidence(model="single_case", level="street" if len(region) > 6 else "district", as_of=ctx.as_of,
                        alarm_day=last, observed=len(rows), threshold=1, baseline=0, parameters={"min_cases": 1},
                        disease_name=name, cases=cases)
    return Alarm(
        model="single_case", district_code=rows[0].district_code, region_code=region, disease_code=disease,
        title=f"{_region_name(ctx, region)}报告{name}{len(rows)}例（单病例预警）", as_of=last,
        observed=float(len(rows)), threshold=1.0, window_start=start,
        params={"min_cases": 1, "lookback_days": ctx.cfg.lookback_days, "comparison": ">="},
        evidence=evidence.as_json(), geometry=_geometry(ctx, [region]))


def count_threshold_alarms(ctx: _Ctx, streets: pd.DataFrame) -> list[Alarm]:
    """Per-disease count thresholds (setting warn.count_thresholds) on street series."""
    alarms = []
    for disease, rule in ctx.cfg.count_thresholds.items():
        rows = streets[streets.index.get_level_values("disease_code") == disease]
        if rows.empty:
            continue
        res = count_threshold(rows.to_numpy(), rule.min_cases, rule.window, dates=rows.columns)
        for i, (region, _) in enumerate(rows.index):
            title = f"{_region_name(ctx, region)}{_disease_name(ctx, disease)}{rule.window}天内达到{rule.min_cases}例阈值"
            spec = SeriesAlarm(region, disease, level="street", counts=rows.to_numpy()[i], title=title)
            alarms += _series_alarm(ctx, res.series(i), spec)
    return alarms


# ---------------------------------------------------------------- count-series models

def _series_alarm(ctx: _Ctx, r: DetectionResult, spec: SeriesAlarm) -> list[Alarm]:
    """An Alarm for the latest alarm day of one detector series within the lookback, if any."""
    i = _last_alarm(np.asarray(r.alarm, dtype=bool), ctx.cfg.lookback_days)
    gate = spec.counts if spec.min_count_on is None else spec.min_count_on
    if i is None or gate[i] < spec.min_count:
        return []
    day = _day(r.index, i)
    window = int(r.params.get("window", 1))
    regions = list(spec.push_regions) or [spec.region]
    return [Alarm(model=r.model, district_code=spec.region[:6], region_code=spec.region, disease_code=spec.disease,
                  title=spec.title, as_of=day, observed=json_number(r.observed[i]),
                  threshold=json_number(r.threshold[i]), window_start=day - timedelta(days=window - 1),
                  params=r.params, evidence=_series_evidence(ctx, r, spec, i).as_json(),
                  geometry=_geometry(ctx, regions), scope_key=spec.scope_key,
                  push_institution_ids=list(spec.push_institution_ids), push_region_codes=regions)]


def _series_evidence(ctx: _Ctx, r: DetectionResult, spec: SeriesAlarm, i: int) -> Evidence:
    """The evidence of a series alarm on day `i`: its values there and the last `history_days` of the series."""
    baseline = spec.arrays.get("baseline")
    return Evidence(
        model=r.model, level=spec.level, as_of=ctx.as_of, alarm_day=_day(r.index, i),
        observed=json_number(r.observed[i]), threshold=json_number(r.threshold[i]),
        baseline=json_number(baseline[i]) if baseline is not None else None, parameters=r.params,
        disease_name=_disease_name(ctx, spec.disease) if spec.disease else None,
        region_name=_region_name(ctx, spec.region),
        series=series_tail(r.index, spec.counts, days=ctx.cfg.history_days, observed=r.observed,
                           threshold=r.threshold, **spec.arrays),
        details=spec.details)


def moving_percentile_alarms(ctx: _Ctx, frame: pd.DataFrame, level: str) -> list[Alarm]:
    """CIDARS moving percentile on every region × disease series of `frame`."""
    if frame.empty:
        return []
    p = ctx.cfg.moving_percentile
    res = moving_percentile(frame.to_numpy(), frame.columns, window=p.window, years=p.years,
                            weeks_around=p.weeks_around, percentile=p.percentile, min_count=p.min_count,
                            min_baseline_windows=p.min_baseline_windows, last_n_days=ctx.cfg.lookback_days)
    values = frame.to_numpy()
    pos = baseline_positions(pd.DatetimeIndex(frame.columns), p.window, p.years, p.weeks_around)
    alarms = []
    for i, (region, disease) in enumerate(frame.index):
        r = res.series(i)
        j = _last_alarm(np.asarray(r.alarm), ctx.cfg.lookback_days)
        if j is None:
            continue
        windows = [json_number(r.observed[k]) for k in pos[j] if k >= 0]
        median = json_number(np.median([w for w in windows if w is not None])) if windows else None
        title = f"{_region_name(ctx, region)}{_disease_name(ctx, disease)}近{p.window}天病例数超过历史同期P{p.percentile:g}"
        alarms += _series_alarm(ctx, r, SeriesAlarm(region, disease, level=level, counts=values[i], title=title,
                                                    details={"baseline_windows": windows, "baseline": median}))
    return alarms


def cusum_alarms(ctx: _Ctx, streets: pd.DataFrame) -> list[Alarm]:
    """Page's CUSUM on standardized daily counts, moving baseline, per street × disease."""
    if streets.empty:
        return []
    c = ctx.cfg.cusum
    values = streets.to_numpy()
    res = cusum(values, k=c.k, h=c.h, reference="moving", baseline=c.baseline, guard=c.guard, min_sigma=c.min_sigma,
                dates=streets.columns)
    week = _week_sums(values, 7)
    alarms = []
    for i, (region, disease) in enumerate(streets.index):
        r = res.series(i)
        k = _last_alarm(np.asarray(r.alarm), ctx.cfg.lookback_days)
        if k is None:
            continue
        alarms += _series_alarm(ctx, r, SeriesAlarm(
            region, disease, level="street", counts=values[i],
            title=f"{_region_name(ctx, region)}{_disease_name(ctx, disease)}病例数持续升高（CUSUM）",
            arrays={"baseline": r.extra["baseline_mean"], "cusum": r.extra["cusum"]},
            details={"baseline_sd": json_number(r.extra["baseline_sd"][k]), "cusum": json_number(r.extra["cusum"][k])},
            min_count=c.min_count, min_count_on=week[i]))
    return alarms


def _week_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing `window`-day sums (partial at the start)."""
    c = np.cumsum(values, axis=1)
    out = c.copy()
    out[:, window:] = c[:, window:] - c[:, :-window]
    return out


def ears_alarms(ctx: _Ctx, synd: pd.DataFrame) -> list[Alarm]:
    """EARS C1/C2/C3 on syndrome cases per sentinel institution."""
    if synd.empty:
        return []
    e = ctx.cfg.ears
    insts = sq.institutions_of(ctx.session, sorted({i for i, _ in synd.index}))
    values = synd.to_numpy()
    alarms = []
    for method in e.methods:
        res = ears_c(values, method, baseline=e.baseline, min_sigma=e.min_sigma, dates=synd.columns,
                     c3_form=e.c3_form)  # c3_form counts only for C3
        for i, (inst_id, syndrome) in enumerate(synd.index):
            r = res.series(i)
            k = _last_alarm(np.asarray(r.alarm), ctx.cfg.lookback_days)
            inst = insts.get(inst_id)
            if k is None or inst is None:
                continue
            alarms += _series_alarm(ctx, r, _ears_spec(r, k, inst, syndrome, values[i], method, e.min_count))
    return alarms


def _ears_spec(r: DetectionResult, k: int, inst: Any, syndrome: str, counts: np.ndarray, method: str,
               min_count: float) -> SeriesAlarm:
    """One sentinel institution's syndrome series, alarming on day `k`, pushed to that institution."""
    region = inst.region_code or inst.district_code
    syndrome_zh = SYNDROME_ZH.get(syndrome, syndrome)
    details = {**({"c3": json_number(r.extra["c3"][k])} if "c3" in r.extra else {}),
               "institution_id": inst.id, "institution_code": inst.code, "institution_name": inst.name,
               "syndrome": syndrome, "syndrome_name": syndrome_zh,
               "baseline_sd": json_number(r.extra["baseline_sd"][k])}
    return SeriesAlarm(region, None, level="institution", counts=counts,
                       title=f"{inst.name}{syndrome_zh}症候群病例数异常升高（EARS-{method}）",
                       arrays={"baseline": r.extra["baseline_mean"]}, details=details,
                       scope_key=f"{inst.code}:{syndrome}", push_institution_ids=[inst.id], push_regions=[region],
                       min_count=min_count)


# ---------------------------------------------------------------- space-time scan

def scan_alarms(ctx: _Ctx, district: str, streets: pd.DataFrame) -> list[Alarm]:
    """Space-time permutation scan over a district's streets (study period `scan.study_days`).

    Only diseases with at least `scan.min_cases` cases in the study period are scanned.
    """
    sc = ctx.cfg.scan
    start = ctx.as_of - timedelta(days=sc.study_days - 1)
    if streets.empty:
        return []
    recent = streets.loc[:, pd.Timestamp(start):]
    totals = recent.groupby(level="disease_code").sum().sum(axis=1)
    alarms: list[Alarm] = []
    diseases = sorted(totals[totals >= sc.min_cases].index)
    if not diseases:
        return alarms
    counts = sq.district_scan_counts(ctx.session, start=start, end=ctx.as_of, district_code=district)
    for disease in diseases:
        data = counts.of(disease)
        if data.counts.to_numpy().sum() < sc.min_cases or data.counts.shape[0] < 2:
            continue
        seed = int(ctx.as_of.strftime("%Y%m%d"))
        # stop_above_p: the replicates of a scan that cannot reach alpha any more are not drawn (same alarms)
        res = space_time_permutation_scan(data.counts, data.coords, max_share=sc.max_share, max_days=sc.max_days,
                                          replications=sc.replications, seed=seed, stop_above_p=sc.alpha)
        for cl in res.significant(sc.alpha):
            alarms.append(_cluster_alarm(ctx, district, disease, cl, res.params, start))
    return alarms


def _cluster_alarm(ctx: _Ctx, district: str, disease: str, cl: Any, params: dict[str, Any], start: date) -> Alarm:
    names = [_region_name(ctx, c) for c in cl.locations]
    first, end = pd.Timestamp(cl.start).date(), pd.Timestamp(cl.end).date()
    cluster = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in cl.as_dict().items()}
    cluster["start"], cluster["end"] = first.isoformat(), end.isoformat()
    cluster["location_names"] = names
    dname = _disease_name(ctx, disease)
    expected = round(float(cl.expected), 3)
    evidence = Evidence(model="scan", level="cluster", as_of=ctx.as_of, alarm_day=end, observed=cl.observed,
                        threshold=None, baseline=expected, parameters=params, disease_name=dname,
                        region_name=names[0], cases=_cluster_cases(ctx, district, disease, cl),
                        details={"expected": expected, "cluster": cluster})
    more = f"等{len(names)}个街道" if len(names) > 1 else ""
    return Alarm(
        model="scan", district_code=district, region_code=cl.centre, disease_code=disease,
        title=f"{names[0]}{more}{dname}时空聚集（{cl.days}天{cl.observed}例）", as_of=end,
        observed=float(cl.observed), threshold=expected, window_start=first,
        params={**params, "alpha": ctx.cfg.scan.alpha, "study_start": start.isoformat()},
        evidence=evidence.as_json(), geometry=_geometry(ctx, cl.locations), push_region_codes=list(cl.locations))


def _cluster_cases(ctx: _Ctx, district: str, disease: str, cl: Any) -> list[dict[str, Any]]:
    """The cluster's cases (first 500 by onset) reported by the end of the run's day."""
    first, end = pd.Timestamp(cl.start).date(), pd.Timestamp(cl.end).date()
    rows = ctx.session.execute(
        select(CaseReport.id, CaseReport.onset_date, CaseReport.region_code)
        .where(CaseReport.district_code == district, CaseReport.disease_code == disease,
               CaseReport.region_code.in_(cl.locations), CaseReport.onset_date >= first,
               CaseReport.onset_date <= end, CaseReport.report_time < sq.end_of_day(ctx.as_of))
        .order_by(CaseReport.onset_date, CaseReport.id).limit(500))
    return [{"id": r.id, "onset_date": r.onset_date.isoformat(), "region_code": r.region_code} for r in rows]


# ---------------------------------------------------------------- orchestration

def _farrington(ctx: _Ctx, report: RunReport) -> list[Alarm]:
    alarms, skipped = farrington_alarms(ctx)
    if skipped:
        report.skipped["farrington_flexible"] = skipped
    return alarms


def _timed(report: RunReport, name: str, fn: Callable[[], list[Alarm]]) -> list[Alarm]:
    t0 = time.perf_counter()
    out = fn()
    report.model_seconds[name] = report.model_seconds.get(name, 0.0) + time.perf_counter() - t0
    report.alarms[name] = report.alarms.get(name, 0) + len(out)
    return out


def collect_alarms(session: Session, *, as_of: date, district_code: str | None, cfg: WarnConfig,
                   report: RunReport, models: Iterable[str] = MODELS) -> list[Alarm]:
    """Every model's alarms for `as_of` (nothing written)."""
    models = set(models)
    ctx = _Ctx(session, cfg, as_of, district_code,
               {d.code: d for d in session.scalars(select(Disease))},
               {r.code: r for r in session.scalars(select(Region).where(
                   Region.level.in_(("district", "street")),
                   *([Region.district_code == district_code] if district_code else [])))})
    p = cfg.moving_percentile
    t0 = time.perf_counter()
    first = sq.first_case_day(session, district_code=district_code) or as_of
    long_start = max(first, as_of - timedelta(days=366 * p.years + 7 * p.weeks_around + p.window + 1))
    short_start = max(first, as_of - timedelta(days=cfg.history_days - 1))
    streets_long = sq.case_counts(session, level="street", start=long_start, end=as_of, district_code=district_code)
    districts_long = sq.case_counts(session, level="district", start=long_start, end=as_of,
                                   district_code=district_code)
    streets = streets_long.loc[:, pd.Timestamp(short_start):]
    streets = streets[streets.sum(axis=1) > 0]
    first_synd = sq.first_syndromic_day(session, district_code=district_code) or as_of
    synd = sq.syndromic_counts(session, start=max(first_synd, as_of - timedelta(days=cfg.history_days - 1)),
                              end=as_of, district_code=district_code, syndromes=cfg.ears.syndromes)
    report.model_seconds["series"] = time.perf_counter() - t0
    report.series = {"street": int(streets_long.shape[0]), "district": int(districts_long.shape[0]),
                     "syndromic": int(synd.shape[0])}
    alarms: list[Alarm] = []
    if "single_case" in models:
        alarms += _timed(report, "single_case", lambda: single_case_alarms(ctx))
    if "count_threshold" in models:
        alarms += _timed(report, "count_threshold", lambda: count_threshold_alarms(ctx, streets))
    if "case_cluster" in models:
        alarms += _timed(report, "case_cluster", lambda: case_cluster_alarms(ctx))
    if "moving_percentile" in models:
        alarms += _timed(report, "moving_percentile", lambda: moving_percentile_alarms(ctx, streets_long, "street")
                         + moving_percentile_alarms(ctx, districts_long, "district"))
    if "farrington_flexible" in models:
        alarms += _timed(report, "farrington_flexible", lambda: _farrington(ctx, report))
    if "ears" in models:
        alarms += _timed(report, "ears", lambda: ears_alarms(ctx, synd))
    if "cusum" in models:
        alarms += _timed(report, "cusum", lambda: cusum_alarms(ctx, streets))
    if "scan" in models:
        districts = sorted({code[:6] for code, _ in streets.index})
        for d in districts:
            part = streets[[code[:6] == d for code, _ in streets.index]]
            alarms += _timed(report, "scan", partial(scan_alarms, ctx, d, part))
    return alarms


def _model_alarms(session: Session, report: RunReport, *, cfg: WarnConfig, models: tuple[str, ...],
                  reuse: bool) -> list[Alarm]:
    """The models' alarms: those of the last run of the same inputs, else computed (and kept for the next run)."""
    as_of, district_code = report.as_of, report.district_code
    if not reuse or not models:  # a run without models (feed alarms only) keeps the stored run of the models
        return collect_alarms(session, as_of=as_of, district_code=district_code, cfg=cfg, report=report, models=models)
    t0 = time.perf_counter()
    with Session(session.get_bind()) as own:  # its own short transaction (a shared connection's, in tests)
        run_reuse.prune_changes(own)
        own.commit()
    print_ = run_reuse.fingerprint(session, district_code=district_code, as_of=as_of, cfg=cfg, models=models)
    stored = run_reuse.load(session, district_code=district_code, as_of=as_of, print_=print_)
    if stored is not None:
        report.series, report.alarms, report.skipped = (stored.report["series"], stored.report["alarms"],
                                                        stored.report["skipped"])
        report.reused = True
        report.model_seconds["reused"] = time.perf_counter() - t0
        return stored.alarms
    alarms = collect_alarms(session, as_of=as_of, district_code=district_code, cfg=cfg, report=report, models=models)
    run_reuse.save(session, district_code=district_code, as_of=as_of, print_=print_, alarms=alarms,
                   report={"series": report.series, "alarms": report.alarms, "skipped": report.skipped})
    return alarms


# Alarms from elsewhere (other departments' feeds): called as source(session, as_of=, district_code=, config=).
AlarmSource = Callable[..., list[Alarm]]


def run_all(session: Session, *, as_of: date, district_code: str | None, publish: Publish | None = None,
            config: WarnConfig | None = None, now: datetime | None = None,
            models: Iterable[str] = MODELS, sources: Sequence[AlarmSource] = (), reuse: bool = True) -> RunReport:
    """Run all models for `as_of` over one district (or every district) and raise their signals; caller commits.

    `sources` add alarms computed outside this package (the feeds' detectors), raised the same way. With
    `reuse`, the models' alarms of the last completed run of the same inputs are taken again (`run_reuse`).
    """
    started = time.perf_counter()
    report = RunReport(as_of=as_of, district_code=district_code)
    cfg = config or load_config(session)
    # one run per district at a time, so concurrent runs cannot open the same signal twice
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"onemap-warn:{district_code or '*'}"})
    alarms = _model_alarms(session, report, cfg=cfg, models=tuple(models), reuse=reuse)
    for source in sources:
        alarms += source(session, as_of=as_of, district_code=district_code, config=cfg)
    t0 = time.perf_counter()
    raised = []
    for alarm, (signal, outcome) in zip(alarms, raise_alarms(session, alarms, dedup_days=cfg.dedup_days, now=now),
                                        strict=True):
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.signal_ids.append(signal.id)
        raised.append((alarm, signal))
    report.model_seconds["signals"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fused = fuse_alarms(session, raised, as_of=as_of, district_code=district_code, cfg=cfg, now=now, publish=publish)
    report.events_created, report.events_graded, report.events_notified = fused.created, fused.graded, fused.notified
    report.event_ids = fused.event_ids
    report.model_seconds["events"] = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    return report
