"""Warning-model parameters and response clocks, read from the `setting` table (keys `warn.<section>`)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import DomainError
from store.accounts import Setting

PREFIX = "warn."


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountRuleCfg(_Section):
    """Signal when `window`-day cases of one street reach `min_cases`."""

    min_cases: int = Field(ge=1)
    window: int = Field(default=7, ge=1, le=60)


class CaseClusterCfg(_Section):
    """A case cluster (聚集性病例, `alerting.detectors.case_cluster`): at least `min_cases` cases of the disease,
    aged at most `max_age`, living within `radius_m` of one of them, with onsets within `days` days."""

    min_cases: int = Field(default=3, ge=2, le=50)
    days: int = Field(default=3, ge=1, le=14)
    radius_m: float = Field(default=500.0, gt=0, le=5000)
    max_age: int = Field(default=6, ge=0, le=120)


class MovingPercentileCfg(_Section):
    window: int = Field(default=7, ge=1, le=28)
    years: int = Field(default=3, ge=1, le=5)
    weeks_around: int = Field(default=2, ge=0, le=6)
    percentile: float = Field(default=80.0, ge=0, le=100)
    min_count: float = Field(default=3, ge=0)
    # windows that must lie inside the data (the demo has 3 years, so the 3rd year is partial)
    min_baseline_windows: int = Field(default=10, ge=1)


class EarsCfg(_Section):
    methods: list[Literal["C1", "C2", "C3"]] = ["C1", "C2", "C3"]
    baseline: int = Field(default=7, ge=3, le=28)
    min_sigma: float = Field(default=1.0, ge=0)
    min_count: float = Field(default=3, ge=0)
    # "cdc": textbook C3 (today's and two previous exceedances); "surveillance": R earsC's formula
    c3_form: Literal["surveillance", "cdc"] = "cdc"
    syndromes: list[str] = ["fever", "diarrhoea", "ili", "ari"]


class CusumCfg(_Section):
    k: float = Field(default=0.5, ge=0)
    h: float = Field(default=4.0, gt=0)
    baseline: int = Field(default=28, ge=2, le=365)
    guard: int = Field(default=2, ge=0, le=14)
    min_sigma: float = Field(default=1.0, ge=0)
    min_count: float = Field(default=3, ge=0)


class ScanCfg(_Section):
    # The permutation model takes its expectation from the study period itself. With 30 days a 10-day outbreak
    # of a low-count disease made up most of the period's cases and inflated its own baseline (the demo's
    # diarrhoea outbreak was missed on 18 of 73 end dates, mostly outside the summer diarrhoea season); a year
    # of history keeps the places' shares honest (73 of 73 found).
    study_days: int = Field(default=365, ge=7, le=730)
    max_days: int = Field(default=7, ge=1, le=30)
    max_share: float = Field(default=0.5, gt=0, le=1)
    replications: int = Field(default=999, ge=9, le=9999)
    min_cases: int = Field(default=10, ge=2)
    alpha: float = Field(default=0.01, gt=0, lt=1)


class FarringtonCfg(_Section):
    """farringtonFlexible (R surveillance 1.20.3) on ISO-week case counts; the control list under R's names.

    The defaults are R's. The runner evaluates the last completed week (Monday–Sunday) of every street and
    district series that has `52·b + w + 1` completed weeks of history, and skips (logged) the others.
    """

    enabled: bool = True
    levels: list[Literal["street", "district"]] = ["street", "district"]
    b: int = Field(default=5, ge=1, le=10)
    w: int = Field(default=3, ge=0, le=10)
    reweight: bool = True
    weightsThreshold: float = Field(default=2.58, gt=0)
    alpha: float = Field(default=0.05, gt=0, le=0.5)
    trend: bool = True
    pThresholdTrend: float = Field(default=0.05, ge=0, le=1)
    limit54: tuple[int, int] = (5, 4)
    powertrans: Literal["2/3", "1/2", "none"] = "2/3"
    noPeriods: int = Field(default=1, ge=1, le=52)
    pastWeeksNotIncluded: int | None = Field(default=None, ge=0, le=52)
    thresholdMethod: Literal["delta", "nbPlugin", "muan"] = "delta"

    @field_validator("limit54")
    @classmethod
    def _limit54(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 0 or v[1] < 1:
            raise ValueError("limit54: cases must be ≥ 0 and weeks ≥ 1")
        return v

    def weeks_needed(self) -> int:
        """Completed weeks of history the last week needs (R's default range starts at week 52·b + w + 1)."""
        return 52 * self.b + self.w + 1

    def control(self) -> dict[str, Any]:
        """Keyword arguments of `alerting.detectors.farrington.farrington_flexible`."""
        return {"b": self.b, "w": self.w, "reweight": self.reweight, "weights_threshold": self.weightsThreshold,
                "alpha": self.alpha, "trend": self.trend, "p_threshold_trend": self.pThresholdTrend,
                "limit54": self.limit54, "powertrans": self.powertrans, "no_periods": self.noPeriods,
                "past_weeks_not_included": self.pastWeeksNotIncluded, "threshold_method": self.thresholdMethod}


class SerialInterval(_Section):
    mean: float = Field(gt=1)
    sd: float = Field(gt=0)


class BurdenRatiosCfg(_Section):
    visits_per_case: float = Field(default=1.0, ge=0)
    admission_share: float = Field(default=0.1, ge=0, le=1)
    mean_los_days: float = Field(default=7.0, gt=0)
    los_model: Literal["fixed", "geometric"] = "fixed"


# HFMD spreads in kindergartens (手足口病预防控制指南 2009: 2 cases in a class, 5 in a kindergarten within a week).
# On the demo (3 years, district 310105) 3 children ≤ 6 within 500 m in 3 days flag the planted kindergarten
# outbreak on day 1–2 and alarm 10–17 times elsewhere in 3 years (0.06–0.11 per district-week; docs/warning-events.md).
DEFAULT_CASE_CLUSTERS = {"hfmd": CaseClusterCfg()}
DEFAULT_COUNT_RULES = {
    "measles": CountRuleCfg(min_cases=2, window=7), "dengue": CountRuleCfg(min_cases=3, window=14),
    "typhoid": CountRuleCfg(min_cases=2, window=7), "dysentery": CountRuleCfg(min_cases=3, window=7),
    "rubella": CountRuleCfg(min_cases=2, window=7),
}
# Published means/sds in days (influenza: Cowling 2009; COVID-19 Omicron; norovirus; measles; HFMD).
DEFAULT_SERIAL_INTERVALS = {
    "influenza": SerialInterval(mean=2.6, sd=1.5), "covid19": SerialInterval(mean=3.5, sd=2.4),
    "diarrhoea": SerialInterval(mean=3.6, sd=2.0), "measles": SerialInterval(mean=11.7, sd=3.5),
    "hfmd": SerialInterval(mean=3.7, sd=2.6), "scarlet_fever": SerialInterval(mean=3.0, sd=1.9),
    "mumps": SerialInterval(mean=18.0, sd=3.5), "pertussis": SerialInterval(mean=22.0, sd=8.0),
}
DEFAULT_SI = SerialInterval(mean=4.0, sd=2.5)


GradeName = Literal["blue", "yellow", "orange", "red"]


def _grade_scores() -> dict[Literal["yellow", "orange", "red"], float]:
    return {"yellow": 3.0, "orange": 5.0, "red": 7.0}


def _class_grades() -> dict[str, GradeName]:
    return {"甲": "red"}


class DiseaseEventCfg(_Section):
    """Per-disease grading: a floor grade for every event of the disease and extra points."""

    min_grade: GradeName | None = None
    extra_points: float = Field(default=0.0, ge=-10, le=10)


class EventsCfg(_Section):
    """Warning events: fusion of alarms, grading rules and the alert budget (docs/warning-events.md)."""

    # an event stays open while its alarms follow each other within this many days
    episode_gap_days: int = Field(default=7, ge=1, le=60)
    # the grade is computed from the alarms of the last `evidence_days` days of the episode (grades never fall)
    evidence_days: int = Field(default=7, ge=1, le=60)
    # events reach the inbox and the institutions from this grade on; lower ones are listed, not pushed
    inbox_min_grade: GradeName = "yellow"
    # the budget the defaults are tuned for (events reaching the inbox per district and week; backtest reports it)
    budget_per_district_week: float = Field(default=2.0, gt=0, le=100)
    # points per agreeing model family (EARS C1/C2/C3 are one family); unknown families score `default_model_points`
    model_points: dict[str, float] = Field(default_factory=lambda: {
        "cases:moving_percentile": 1.0, "cases:cusum": 3.0, "cases:scan": 2.0, "cases:count_threshold": 2.0,
        "cases:single_case": 2.0, "cases:case_cluster": 3.0, "cases:farrington_flexible": 0.5, "syndromic:ears": 0.5,
        "education:ears": 0.5, "education:cusum": 0.5,
        "pharmacy:ears": 0.5, "pharmacy:cusum": 0.5, "opinion:opinion": 0.5, "city:city": 2.0})
    default_model_points: float = Field(default=1.0, ge=0)
    # points for each independent source (cases, syndromic, lab, education, pharmacy, opinion, city) beyond the first
    source_points: float = Field(default=1.0, ge=0)
    # [observed/expected ratio, points] steps: the highest step reached counts
    excess_points: list[tuple[float, float]] = Field(default_factory=lambda: [(3.0, 1.0), (6.0, 2.0)])
    excess_min_observed: float = Field(default=5.0, ge=0)  # too few cases make any ratio large
    p_value_max: float = Field(default=0.01, gt=0, lt=1)
    p_value_points: float = Field(default=1.0, ge=0)
    # resident population of the event's streets from which the event scores `population_points`
    population_min: int = Field(default=200_000, ge=0)
    population_points: float = Field(default=1.0, ge=0)
    # minimum score of each grade (blue is every event)
    grade_scores: dict[Literal["yellow", "orange", "red"], float] = Field(default_factory=_grade_scores)
    # class A diseases and the single-case list are graded high at once
    class_grades: dict[str, GradeName] = Field(default_factory=_class_grades)
    single_case_grade: GradeName = "orange"
    city_grade: GradeName = "orange"
    diseases: dict[str, DiseaseEventCfg] = Field(default_factory=dict)
    # syndromes, school-absence and drug groups → syndrome group; a group's alarms join events of these categories
    syndrome_groups: dict[str, str] = Field(default_factory=lambda: {
        "diarrhoea": "intestinal", "gastrointestinal": "intestinal", "antidiarrhoeal": "intestinal",
        "ili": "respiratory", "ari": "respiratory", "respiratory": "respiratory", "cough_cold": "respiratory",
        "fever": "fever", "antipyretic": "fever", "rash": "rash", "ill": "ill"})
    group_categories: dict[str, list[str]] = Field(default_factory=lambda: {
        "intestinal": ["intestinal"], "respiratory": ["respiratory"],
        "fever": ["respiratory", "intestinal", "vector"], "rash": ["vaccine", "intestinal"],
        "ill": ["respiratory", "intestinal", "vaccine"]})


class WarnConfig(_Section):
    """All model parameters; every field is one `setting` key `warn.<field>`."""

    verify_hours: float = Field(default=24, gt=0, le=24 * 14)
    dedup_days: int = Field(default=7, ge=1, le=60)
    lookback_days: int = Field(default=3, ge=1, le=14)
    history_days: int = Field(default=60, ge=30, le=365)
    count_thresholds: dict[str, CountRuleCfg] = Field(default_factory=lambda: dict(DEFAULT_COUNT_RULES))
    case_clusters: dict[str, CaseClusterCfg] = Field(default_factory=lambda: dict(DEFAULT_CASE_CLUSTERS))
    moving_percentile: MovingPercentileCfg = MovingPercentileCfg()
    ears: EarsCfg = EarsCfg()
    cusum: CusumCfg = CusumCfg()
    scan: ScanCfg = ScanCfg()
    farrington: FarringtonCfg = FarringtonCfg()
    serial_intervals: dict[str, SerialInterval] = Field(default_factory=lambda: dict(DEFAULT_SERIAL_INTERVALS))
    burden_ratios: dict[str, BurdenRatiosCfg] = Field(default_factory=lambda: {"default": BurdenRatiosCfg()})
    events: EventsCfg = EventsCfg()

    def serial_interval(self, disease_code: str) -> SerialInterval:
        """The serial interval configured for a disease, or the generic default."""
        return self.serial_intervals.get(disease_code, DEFAULT_SI)

    def burden(self, district_code: str) -> BurdenRatiosCfg:
        return self.burden_ratios.get(district_code) or self.burden_ratios.get("default") or BurdenRatiosCfg()


class WarnConfigError(DomainError, ValueError):
    """A `warn.*` setting that does not validate; `field` is the setting key."""

    code = "warn.bad_setting"

    def __init__(self, key: str, message: str) -> None:
        super().__init__("misconfigured", self.code, f"setting {key}: {message}", "预警参数配置有误，请联系管理员", key)


def load_config(session: Session) -> WarnConfig:
    """Defaults overlaid with the `warn.*` rows of the setting table (validated)."""
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key.like(f"{PREFIX}%"))).all()
    data: dict[str, Any] = {}
    for key, value in rows:
        name = key[len(PREFIX):]
        if name not in WarnConfig.model_fields:
            continue
        data[name] = value
    try:
        return WarnConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise WarnConfigError(PREFIX + ".".join(str(p) for p in err["loc"]), err["msg"]) from None
