"""Warning events (预警事件): raw alarms fused per place × disease or syndrome group × episode, and graded.

Pure code, no database: the runner (`alerting.event_loop`) and the backtest (`alerting.backtest`) feed
the same `EventBook` with `AlarmFact`s day by day, so both fuse and grade alarms identically.

Fusion: an alarm naming a disease joins the open event of that disease at a compatible place (the same
street, the street's district, or a scan cluster containing it); an alarm naming only a syndrome (sentinel
syndromes, school absence, drug sales) joins an open event of a disease whose category the syndrome's group
covers at a compatible place, else the open syndromic event of its group there. An event is open while its
alarms follow each other within `episode_gap_days`. Grades (blue < yellow < orange < red) come from the
rules in `warn.events` (see docs/warning-events.md) and never fall within an episode.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from alerting.config import EventsCfg

GRADES = ("blue", "yellow", "orange", "red")
GRADE_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
SOURCE_ZH = {"cases": "病例报告", "syndromic": "哨点症候群监测", "lab": "实验室检测", "education": "学校缺课",
             "pharmacy": "药店销售", "opinion": "舆情", "city": "市级下发"}
GROUP_ZH = {"intestinal": "肠道症候群", "respiratory": "呼吸道症候群", "fever": "发热症候群", "rash": "皮疹症候群",
            "ill": "因病缺课", "unspecified": "其他异常"}


def grade_rank(grade: str | None) -> int:
    """0 for no grade, 1 … 4 for blue … red."""
    return GRADES.index(grade) + 1 if grade in GRADES else 0


def max_grade(*grades: str | None) -> str | None:
    best = max(grades, key=grade_rank, default=None)
    return best if grade_rank(best) else None


@dataclass(frozen=True)
class DiseaseInfo:
    """What grading needs to know of a disease."""

    code: str
    name: str
    klass: str
    category: str
    single_case: bool = False


@dataclass(frozen=True)
class AlarmFact:
    """One alarm of one model on one day, as fusion and grading see it."""

    model: str  # moving_percentile | cusum | ears_c1 … | scan | single_case | count_threshold | opinion | city …
    source: str  # cases | syndromic | lab | education | pharmacy | opinion | city
    district: str
    place: str  # street or district code
    day: date
    disease: str | None = None
    syndrome: str | None = None  # sentinel syndrome, school-absence group or drug group
    members: tuple[str, ...] = ()  # the streets of a scan cluster
    observed: float | None = None
    expected: float | None = None
    p_value: float | None = None
    label: str = ""  # the alarm's title in Chinese
    alarm_id: int | None = None  # its alarm row (runner)

    @property
    def family(self) -> str:
        """Source and model family: EARS C1/C2/C3 of one source are one family (not independent)."""
        return f"{self.source}:{'ears' if self.model.startswith('ears') else self.model}"

    @property
    def excess(self) -> float | None:
        if self.observed is None or self.expected is None:
            return None
        return self.observed / max(self.expected, 1.0)  # a baseline under one case is taken as one

    def places(self) -> set[str]:
        return {self.place, *self.members}

    def as_json(self) -> dict[str, Any]:
        return {"alarm_id": self.alarm_id, "model": self.model, "source": self.source, "district": self.district,
                "place": self.place, "day": self.day.isoformat(), "disease": self.disease, "syndrome": self.syndrome,
                "members": list(self.members), "observed": self.observed, "expected": self.expected,
                "p_value": self.p_value, "label": self.label}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlarmFact:
        return cls(model=d["model"], source=d["source"], district=d["district"], place=d["place"],
                   day=date.fromisoformat(d["day"]), disease=d.get("disease"), syndrome=d.get("syndrome"),
                   members=tuple(d.get("members") or ()), observed=d.get("observed"), expected=d.get("expected"),
                   p_value=d.get("p_value"), label=d.get("label") or "", alarm_id=d.get("alarm_id"))

    def key(self) -> tuple[Any, ...]:
        return (self.alarm_id, self.model, self.source, self.place, self.day, self.disease, self.syndrome)


@dataclass(frozen=True)
class Grading:
    grade: str
    score: float
    reasons: list[str]  # plain Chinese, one line per rule that scored


@dataclass
class EventState:
    """One event (episode) while it is being fused."""

    district: str
    place: str
    group: str  # a disease code, or "syn:<syndrome group>"
    first_day: date
    last_day: date
    facts: list[AlarmFact] = field(default_factory=list)
    grade: str | None = None
    id: int | None = None  # its signal row (runner)
    reached_day: date | None = None  # first day graded at or above the inbox grade
    history: list[tuple[date, str]] = field(default_factory=list)  # (day, grade) of every rise

    @property
    def disease(self) -> str | None:
        return None if self.group.startswith("syn:") else self.group

    def places(self) -> set[str]:
        out = {self.place}
        for f in self.facts:
            out |= f.places()
        return out


# ---------------------------------------------------------------- grading

def _excess_points(facts: list[AlarmFact], cfg: EventsCfg) -> tuple[float, str | None]:
    ratios = [(f.excess, f) for f in facts if f.excess is not None and (f.observed or 0) >= cfg.excess_min_observed]
    if not ratios:
        return 0.0, None
    best, fact = max(ratios, key=lambda r: r[0])
    points = max((p for step, p in cfg.excess_points if best >= step), default=0.0)
    if not points:
        return 0.0, None
    return points, f"超出基线：{fact.label or fact.model}观察值为期望值的 {best:.1f} 倍（+{points:g}分）"


def grade(facts: Iterable[AlarmFact], *, disease: DiseaseInfo | None, population: int | None,
          cfg: EventsCfg) -> Grading:
    """The grade of an event from its alarms: agreeing models and sources, excess, p-value, scan, population, class."""
    facts = list(facts)
    parts = [_model_points(facts, cfg), _source_points(facts, cfg), _excess_points(facts, cfg),
             _p_value_points(facts, cfg), _population_points(population, cfg), _disease_points(disease, cfg)]
    score = sum(pts for pts, why in parts if why)
    reasons = [why for _, why in parts if why]
    by_score = max((g for g, s in cfg.grade_scores.items() if score >= s), key=grade_rank, default="blue")
    floors = [(by_score, None), *_floors(facts, disease, cfg)]
    reasons += [why for _, why in floors if why]
    final = max_grade(*(g for g, _ in floors)) or "blue"
    reasons.append(f"合计 {score:g} 分，定为{GRADE_ZH[final]}预警")
    return Grading(final, round(score, 3), reasons)


def _model_points(facts: list[AlarmFact], cfg: EventsCfg) -> tuple[float, str]:
    families = sorted({f.family for f in facts})
    score = sum(cfg.model_points.get(fam, cfg.default_model_points) for fam in families)
    return score, f"{len(families)} 类模型报警（{'、'.join(families)}，+{score:g}分）"


def _source_points(facts: list[AlarmFact], cfg: EventsCfg) -> tuple[float, str | None]:
    sources = sorted({f.source for f in facts})
    if len(sources) <= 1:
        return 0.0, None
    pts = cfg.source_points * (len(sources) - 1)
    return pts, f"{len(sources)} 个独立数据来源一致（{'、'.join(SOURCE_ZH.get(s, s) for s in sources)}，+{pts:g}分）"


def _p_value_points(facts: list[AlarmFact], cfg: EventsCfg) -> tuple[float, str | None]:
    ps = [f.p_value for f in facts if f.p_value is not None]
    if not ps or min(ps) > cfg.p_value_max:
        return 0.0, None
    return cfg.p_value_points, f"统计显著：P={min(ps):.3g} ≤ {cfg.p_value_max:g}（+{cfg.p_value_points:g}分）"


def _population_points(population: int | None, cfg: EventsCfg) -> tuple[float, str | None]:
    if population is None or population < cfg.population_min or not cfg.population_points:
        return 0.0, None
    return (cfg.population_points,
            f"涉及常住人口约 {population:,} 人（≥{cfg.population_min:,}，+{cfg.population_points:g}分）")


def _disease_points(disease: DiseaseInfo | None, cfg: EventsCfg) -> tuple[float, str | None]:
    rule = cfg.diseases.get(disease.code) if disease else None
    if disease is None or not rule or not rule.extra_points:
        return 0.0, None
    return rule.extra_points, f"{disease.name}病种设置加分 {rule.extra_points:+g}"


def _floors(facts: list[AlarmFact], disease: DiseaseInfo | None, cfg: EventsCfg) -> list[tuple[str, str | None]]:
    """Grades the event cannot fall below whatever its score: the disease's class and rules, a city signal."""
    out: list[tuple[str, str | None]] = []
    if disease is not None:
        rule = cfg.diseases.get(disease.code)
        if disease.klass in cfg.class_grades:
            floor = cfg.class_grades[disease.klass]
            out.append((floor, f"{disease.name}为{disease.klass}类传染病，直接定为{GRADE_ZH[floor]}"))
        if disease.single_case:
            out.append((cfg.single_case_grade,
                        f"{disease.name}属单病例预警病种，直接定为{GRADE_ZH[cfg.single_case_grade]}"))
        if rule and rule.min_grade:
            out.append((rule.min_grade, f"{disease.name}病种设置最低等级为{GRADE_ZH[rule.min_grade]}"))
    if any(f.source == "city" for f in facts):
        out.append((cfg.city_grade, None))
    return out


# ---------------------------------------------------------------- fusion

def _near(ev: EventState, fact: AlarmFact) -> bool:
    """The same place, or a street of a scan cluster; district-level alarms make district-level events."""
    if ev.district != fact.district:
        return False
    if (ev.place == ev.district) != (fact.place == fact.district):
        return False
    return ev.place == fact.place or bool(ev.places() & fact.places())


def _fits(ev: EventState, fact: AlarmFact, cfg: EventsCfg, diseases: dict[str, DiseaseInfo]) -> bool:
    if fact.disease:
        return ev.group == fact.disease
    group = cfg.syndrome_groups.get(fact.syndrome or "", fact.syndrome or "")
    if ev.group == f"syn:{group}":
        return True
    info = diseases.get(ev.disease or "")
    return info is not None and info.category in cfg.group_categories.get(group, [])


class EventBook:
    """The events of one or more districts while alarms are added in day order."""

    def __init__(self, cfg: EventsCfg, diseases: dict[str, DiseaseInfo], population: dict[str, int] | None = None,
                 events: Iterable[EventState] = ()) -> None:
        self.cfg, self.diseases, self.population = cfg, diseases, population or {}
        self.events: list[EventState] = list(events)

    def open_events(self, day: date) -> list[EventState]:
        gap = timedelta(days=self.cfg.episode_gap_days)
        return [e for e in self.events if e.last_day >= day - gap and e.first_day <= day + gap]

    def _match(self, fact: AlarmFact) -> EventState | None:
        cands = [e for e in self.open_events(fact.day) if _near(e, fact) and _fits(e, fact, self.cfg, self.diseases)]
        if not cands and fact.disease:  # a syndromic event becomes the disease's event when cases confirm it
            info = self.diseases.get(fact.disease)
            cands = [e for e in self.open_events(fact.day) if e.group.startswith("syn:") and _near(e, fact)
                     and info is not None and info.category in self.cfg.group_categories.get(e.group[4:], [])]
            for e in cands[:1]:
                e.group = fact.disease
        # prefer the same place, then a disease event over a syndromic one, then the most recent
        cands.sort(key=lambda e: (e.place != fact.place, e.group.startswith("syn:"), -e.last_day.toordinal(),
                                  e.id or 0))
        return cands[0] if cands else None

    def add(self, fact: AlarmFact) -> tuple[EventState, bool]:
        """File one alarm: (its event, whether the event is new)."""
        ev = self._match(fact)
        created = ev is None
        if ev is None:
            group = fact.disease or f"syn:{self.cfg.syndrome_groups.get(fact.syndrome or '', fact.syndrome or '')}"
            ev = EventState(district=fact.district, place=fact.place, group=group, first_day=fact.day,
                            last_day=fact.day)
            self.events.append(ev)
        if fact.key() not in {f.key() for f in ev.facts}:
            ev.facts.append(fact)
        ev.first_day, ev.last_day = min(ev.first_day, fact.day), max(ev.last_day, fact.day)
        return ev, created

    def grade_on(self, ev: EventState, day: date) -> str | None:
        """The event's grade at the end of `day`."""
        return max_grade(*(g for d, g in ev.history if d <= day))

    def population_of(self, ev: EventState) -> int | None:
        streets = {p for p in ev.places() if len(p) > 6}
        if not streets:
            return None  # a district-wide excess: who is affected is not known
        values = [self.population[s] for s in streets if s in self.population]
        return sum(values) if values else None

    def regrade(self, ev: EventState, day: date) -> tuple[str | None, Grading]:
        """Grade the event on the evidence of its last `evidence_days` days; returns (previous grade, grading).

        The event's grade becomes the higher of the two (grades never fall within an episode).
        """
        since = day - timedelta(days=self.cfg.evidence_days - 1)
        recent = [f for f in ev.facts if since <= f.day <= day] or ev.facts
        g = grade(recent, disease=self.diseases.get(ev.disease or ""), population=self.population_of(ev),
                  cfg=self.cfg)
        before = ev.grade
        ev.grade = max_grade(before, g.grade)
        if ev.grade != before:
            ev.history.append((day, ev.grade or g.grade))
        if ev.reached_day is None and grade_rank(ev.grade) >= grade_rank(self.cfg.inbox_min_grade):
            ev.reached_day = day
        return before, g

    def add_day(self, facts: Iterable[AlarmFact], day: date) -> list[EventState]:
        """File one day's alarms and regrade the events they touched; returns those events."""
        touched: dict[int, EventState] = {}
        for fact in sorted(facts, key=lambda f: (f.disease is None, f.place, f.model)):
            ev, _ = self.add(fact)
            touched[id(ev)] = ev
        for ev in touched.values():
            self.regrade(ev, day)
        return list(touched.values())


def explanation(ev: EventState, g: Grading, *, disease_name: str | None, place_name: str) -> list[str]:
    """Plain-Chinese lines: what the event is, its grade and why, and every contributing alarm."""
    what = disease_name or GROUP_ZH.get(ev.group[4:], ev.group)
    lines = [f"{place_name}{what}预警事件（{ev.first_day} 至 {ev.last_day}），{GRADE_ZH[ev.grade or g.grade]}预警。"]
    lines += g.reasons
    for f in sorted(ev.facts, key=lambda f: (f.day, f.model, f.place)):
        extra = f"，观察 {f.observed:g}，期望 {f.expected:.1f}" if f.observed is not None and f.expected else ""
        lines.append(f"{f.day} {SOURCE_ZH.get(f.source, f.source)}：{f.label or f.model}{extra}")
    return lines
