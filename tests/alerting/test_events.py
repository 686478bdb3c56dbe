"""Warning events without a database: fusion per place × disease / syndrome group × episode, and grading."""
from __future__ import annotations

from datetime import date, timedelta

from alerting.config import EventsCfg, WarnConfig
from alerting.events import AlarmFact, DiseaseInfo, EventBook, grade

D0 = date(2030, 3, 1)
DIS = {"diarrhoea": DiseaseInfo("diarrhoea", "其它感染性腹泻病", "丙", "intestinal"),
       "influenza": DiseaseInfo("influenza", "流行性感冒", "丙", "respiratory"),
       "cholera": DiseaseInfo("cholera", "霍乱", "甲", "intestinal", True),
       "sars": DiseaseInfo("sars", "传染性非典型肺炎", "乙", "respiratory", True)}
S1, S2 = "310105008", "310105010"


def fact(model: str, day: date, *, place: str = S1, disease: str | None = "diarrhoea", source: str = "cases",
         syndrome: str | None = None, observed: float = 3.0, expected: float = 2.0, p: float | None = None) -> AlarmFact:
    return AlarmFact(model=model, source=source, district="310105", place=place, day=day, disease=disease,
                     syndrome=syndrome, observed=observed, expected=expected, p_value=p, label=f"{model}报警")


def test_one_model_is_blue_agreeing_models_and_sources_raise_the_grade() -> None:
    cfg = EventsCfg()
    assert grade([fact("moving_percentile", D0)], disease=DIS["diarrhoea"], population=None, cfg=cfg).grade == "blue"
    both = grade([fact("moving_percentile", D0), fact("cusum", D0)], disease=DIS["diarrhoea"], population=None, cfg=cfg)
    assert both.grade == "yellow" and any("2 类模型" in r for r in both.reasons)
    # EARS C1/C2/C3 of one sentinel series are one family, not three agreeing models
    ears = [fact(m, D0, disease=None, source="syndromic", syndrome="diarrhoea") for m in ("ears_c1", "ears_c2", "ears_c3")]
    assert grade(ears, disease=None, population=None, cfg=cfg).score == cfg.model_points["syndromic:ears"]
    many = grade([fact("moving_percentile", D0, observed=30, expected=2), fact("cusum", D0),
                  fact("scan", D0, p=0.001), ears[0]], disease=DIS["diarrhoea"], population=300_000, cfg=cfg)
    assert many.grade == "red", many
    assert any("独立数据来源" in r for r in many.reasons) and any("P=" in r for r in many.reasons)
    assert any("常住人口" in r for r in many.reasons) and any("倍" in r for r in many.reasons)


def test_class_a_and_single_case_diseases_are_graded_high_at_once() -> None:
    cfg = EventsCfg()
    one = [fact("single_case", D0, disease="cholera", observed=1, expected=0)]
    assert grade(one, disease=DIS["cholera"], population=None, cfg=cfg).grade == "red"
    sars = grade([fact("single_case", D0, disease="sars", observed=1)], disease=DIS["sars"], population=None, cfg=cfg)
    assert sars.grade == "orange" and any("单病例" in r for r in sars.reasons)


def test_grading_rules_are_configuration() -> None:
    facts = [fact("moving_percentile", D0)]
    cfg = EventsCfg.model_validate({"grade_scores": {"yellow": 1, "orange": 5, "red": 7}})
    assert grade(facts, disease=DIS["diarrhoea"], population=None, cfg=cfg).grade == "yellow"
    cfg = EventsCfg.model_validate({"diseases": {"diarrhoea": {"min_grade": "orange"}}})
    assert grade(facts, disease=DIS["diarrhoea"], population=None, cfg=cfg).grade == "orange"
    assert WarnConfig.model_validate({"events": {"inbox_min_grade": "orange"}}).events.inbox_min_grade == "orange"


def test_an_episode_is_one_event_until_its_alarms_stop() -> None:
    book = EventBook(EventsCfg(), DIS)
    for k in (0, 2, 5, 9):  # gaps of at most 7 days: one event
        book.add_day([fact("moving_percentile", D0 + timedelta(days=k))], D0 + timedelta(days=k))
    book.add_day([fact("moving_percentile", D0 + timedelta(days=30))], D0 + timedelta(days=30))
    book.add_day([fact("moving_percentile", D0 + timedelta(days=30), place=S2)], D0 + timedelta(days=30))
    events = [(e.place, e.first_day, e.last_day, len(e.facts)) for e in book.events]
    assert events == [(S1, D0, D0 + timedelta(days=9), 4), (S1, D0 + timedelta(days=30), D0 + timedelta(days=30), 1),
                      (S2, D0 + timedelta(days=30), D0 + timedelta(days=30), 1)]


def test_syndromes_join_the_compatible_disease_event_and_grades_only_rise() -> None:
    book = EventBook(EventsCfg(), DIS)
    book.add_day([fact("moving_percentile", D0)], D0)
    ev = book.events[0]
    assert ev.grade == "blue" and ev.history == [(D0, "blue")]
    d1 = D0 + timedelta(days=1)
    book.add_day([fact("ears_c1", d1, disease=None, source="syndromic", syndrome="diarrhoea"),
                  fact("ears_c1", d1, disease=None, source="syndromic", syndrome="ili"),
                  fact("cusum", d1)], d1)
    assert [e.group for e in book.events] == ["diarrhoea", "syn:respiratory"]
    assert {f.syndrome for f in ev.facts} == {None, "diarrhoea"}
    assert ev.grade == "orange" and ev.history == [(D0, "blue"), (d1, "orange")]
    later = D0 + timedelta(days=8)  # within the episode, the older evidence out of the window: the grade stays
    book.add_day([fact("moving_percentile", later)], later)
    assert ev.grade == "orange" and ev.last_day == later and book.grade_on(ev, D0) == "blue"


def test_a_syndromic_event_becomes_the_disease_event_when_cases_confirm_it() -> None:
    book = EventBook(EventsCfg(), DIS)
    book.add_day([fact("ears_c2", D0, disease=None, source="syndromic", syndrome="diarrhoea")], D0)
    assert book.events[0].group == "syn:intestinal"
    book.add_day([fact("cusum", D0 + timedelta(days=1))], D0 + timedelta(days=1))
    assert len(book.events) == 1 and book.events[0].group == "diarrhoea"
