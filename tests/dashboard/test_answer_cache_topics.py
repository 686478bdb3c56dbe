"""Finer invalidation (issue 18): a change recomputes only the answers it can affect (kind of data, district)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import text

from accounts.principal import Principal
from dashboard.answer_cache import AnswerCache, districts_in_view, layer_question, question_topics, summary_question
from geo.dates import CST
from ingest.events import ChangeEvent, announce_bulk_change, publish_change
from layers.base import LayerFilters, today_cst
from store import topics
from tests.dashboard.test_answer_cache import CITY, Counter
from tests.factories.monitor import D1, D2

IN_D1 = Principal(2, "d", "district_analyst", 2, D1)
IN_D2 = Principal(3, "e", "district_analyst", 3, D2)
ALL = LayerFilters()


def _cache(services: Any, suffix: str) -> AnswerCache:
    return AnswerCache(services.redis, f"{services.settings.redis_namespace}:{suffix}")


def _publish(services: Any, cache: AnswerCache, kind: str, district: str | None = D1,
             action: Literal["created", "updated", "deleted"] = "created", onset: date | None = None) -> None:
    fields = {"onset_date": (onset or today_cst()).isoformat()}
    publish_change(services.redis, cache.namespace, ChangeEvent(kind=kind, id=1, action=action, district_code=district,
                                                                fields=fields))


class Asker:
    """Asks one question for one principal and says whether the answer was a cache hit."""

    def __init__(self, cache: AnswerCache, question: str, principal: Principal) -> None:
        self.cache, self.question, self.principal, self.compute = cache, question, principal, Counter()

    def hit(self) -> bool:
        return self.cache.answer(self.question, self.principal, self.compute).cached


def test_events_name_the_topics_they_can_affect() -> None:
    assert topics.event_topics(ChangeEvent(kind="team_position", id=1, district_code=D1)) == {"teams"}
    onset = {"onset_date": "2026-03-01"}
    assert topics.event_topics(ChangeEvent(kind="case_report", id=1, action="created", district_code=D1,
                                           fields=onset)) \
        == {"cases", f"cases:{D1}", "cases@2026-03-01", f"cases:{D1}@2026-03-01"}
    # an update may move a case from another district or day: every district's case answers
    assert topics.event_topics(ChangeEvent(kind="case_report", id=1, district_code=D1, fields=onset)) \
        == {"cases", "cases:*"}
    assert topics.event_topics(ChangeEvent(kind="case_report", id=1, action="created", fields=onset)) \
        == {"cases", "cases:*"}
    assert topics.event_topics(ChangeEvent(kind="case_report", id=1, action="created", district_code=D1)) \
        == {"cases", "cases:*"}
    assert topics.event_topics(ChangeEvent(kind="drug_sales", id=1)) == {"feeds:drug_sales"}
    assert topics.event_topics(ChangeEvent(kind="something_new", id=1)) == {"*"}


def test_questions_are_narrowed_to_the_districts_in_view() -> None:
    inst = Principal(4, "i", "institution_user", 4, D1, institution_id=7)
    assert districts_in_view(IN_D1, None) == {D1}
    assert districts_in_view(CITY, None) is None and districts_in_view(CITY, "310000") is None
    assert districts_in_view(CITY, D2) == {D2}
    assert districts_in_view(CITY, "319901001") is None  # streets are not mapped: any district
    assert districts_in_view(inst, None) is None  # an institution's cases live in any district
    week = LayerFilters(since=date(2026, 3, 1), until=date(2026, 3, 2))
    assert question_topics(layer_question("incidence", week), IN_D1) \
        == {"*", "cases:*", f"cases:{D1}@2026-03-01", f"cases:{D1}@2026-03-02"}
    assert question_topics(layer_question("cases", week), CITY) == {"*", "cases:*", "cases@2026-03-01",
                                                                    "cases@2026-03-02"}
    assert len(question_topics(layer_question("incidence", ALL), CITY) or ()) == 1 + 1 + 28  # the default 28 days
    year = LayerFilters(since=date(2025, 3, 1), until=date(2026, 3, 1))  # too many days: by district only
    assert question_topics(layer_question("incidence", year), IN_D1) == {"*", f"cases:{D1}", "cases:*"}
    assert question_topics(layer_question("incidence", year), CITY) == {"*", "cases"}
    assert question_topics(summary_question(ALL), IN_D1) == {"*", f"cases:{D1}", "cases:*", "signals"}
    assert question_topics(layer_question("teams", ALL), IN_D1) == {"*", "teams"}
    assert question_topics(layer_question("no-such-layer", ALL), IN_D1) is None  # unknown: every change
    assert question_topics("a plain question", IN_D1) is None


def test_a_team_position_leaves_incidence_answers_hits(services: Any) -> None:
    cache = _cache(services, "tp1")
    incidence, summary = Asker(cache, layer_question("incidence", ALL), IN_D1), Asker(cache, summary_question(ALL), IN_D1)
    teams = Asker(cache, layer_question("teams", ALL), IN_D1)
    assert (incidence.hit(), summary.hit(), teams.hit()) == (False, False, False)
    for _ in range(3):
        _publish(services, cache, "team_position")
    assert (incidence.hit(), summary.hit()) == (True, True) and incidence.compute.calls == 1
    assert teams.hit() is False and teams.compute.calls == 2


def test_a_case_in_one_district_leaves_the_other_districts_case_answers(services: Any) -> None:
    cache = _cache(services, "tp2")
    a, b = Asker(cache, layer_question("cases", ALL), IN_D1), Asker(cache, layer_question("cases", ALL), IN_D2)
    city_b = Asker(cache, layer_question("incidence", LayerFilters(region=D2)), CITY)
    city_all = Asker(cache, layer_question("incidence", ALL), CITY)
    signals = Asker(cache, layer_question("signals", ALL), IN_D1)
    askers = (a, b, city_b, city_all, signals)
    assert [x.hit() for x in askers] == [False] * 5
    _publish(services, cache, "case_report", D1)
    assert [x.hit() for x in askers] == [False, True, True, False, True]
    _publish(services, cache, "case_report", D1, action="updated")  # it may have moved from D2
    assert [x.hit() for x in askers] == [False, False, False, False, True]
    assert [x.hit() for x in askers] == [True] * 5


def test_case_and_signal_changes_recompute_the_monitor_summary(services: Any) -> None:
    cache = _cache(services, "tp3")
    summary, incidence = Asker(cache, summary_question(ALL), IN_D1), Asker(cache, layer_question("incidence", ALL), IN_D1)
    assert (summary.hit(), incidence.hit()) == (False, False)
    _publish(services, cache, "case_report", D1)
    assert (summary.hit(), incidence.hit()) == (False, False)
    _publish(services, cache, "signal", D1)
    assert (summary.hit(), incidence.hit()) == (False, True)
    _publish(services, cache, "case_report", D2)  # another district's case: not in this summary
    assert summary.hit() is True


def test_a_bulk_load_and_an_unknown_kind_recompute_everything(services: Any) -> None:
    cache = _cache(services, "tp4")
    askers = [Asker(cache, layer_question(layer, ALL), who) for layer in ("incidence", "teams", "institutions.lab")
              for who in (IN_D1, CITY)] + [Asker(cache, "plain", CITY)]
    assert [x.hit() for x in askers] == [False] * 7
    assert [x.hit() for x in askers] == [True] * 7
    announce_bulk_change(services.redis, cache.namespace)
    assert [x.hit() for x in askers] == [False] * 7
    _publish(services, cache, "a_kind_nobody_declared")
    assert [x.hit() for x in askers] == [False] * 7
    _publish(services, cache, "team_position")  # a known kind: only what reads teams (and plain questions)
    assert [x.hit() for x in askers] == [True, True, False, False, True, True, False]


def _case_total(client: Any, headers: dict[str, str]) -> tuple[int, str]:
    resp = client.get("/api/v1/layers/incidence", headers=headers)
    assert resp.status_code == 200
    return sum(f["properties"]["cases"] for f in resp.get_json()["features"]), resp.headers["X-Answer-Cache"]


def test_the_layer_api_reads_its_own_writes_and_ignores_other_data(client, world, services):
    """Read after write: an announced case is in the very next answer; team positions keep it cached."""
    headers = {"Authorization": f"Bearer {world.tokens['d1']}"}
    ns = services.settings.redis_namespace
    before, _ = _case_total(client, headers)
    assert _case_total(client, headers) == (before, "hit")
    publish_change(services.redis, ns, ChangeEvent(kind="team_position", id=1, district_code=D1))
    assert _case_total(client, headers) == (before, "hit")
    with services.session_factory() as s:
        case_id = s.execute(text("""INSERT INTO case_report (source_id, source_version, disease_code, case_type,
            onset_date, diagnosis_time, report_time, region_code, district_code, geom, sex, outcome)
            VALUES ('TMON:topics', 1, 'tmona', 'confirmed', :day, :t, :t, '319901001', :d,
                    ST_SetSRID(ST_MakePoint(100.2, 10.5), 4326), 'F', 'recovered') RETURNING id"""),
            {"day": world.today, "t": datetime.combine(world.today, time(8), CST), "d": D1}).scalar_one()
        s.commit()
    try:
        publish_change(services.redis, ns, ChangeEvent(kind="case_report", id=case_id, action="created",
                                                       district_code=D1))
        assert _case_total(client, headers) == (before + 1, "miss")
    finally:
        with services.session_factory() as s:
            s.execute(text("DELETE FROM case_report WHERE id = :i"), {"i": case_id})
            s.commit()
        publish_change(services.redis, ns, ChangeEvent(kind="case_report", id=case_id, action="deleted",
                                                       district_code=D1))
    assert _case_total(client, headers) == (before, "miss")


def test_a_new_case_leaves_answers_about_other_days_alone(services: Any) -> None:
    """Playback of earlier days stays cached while today's cases arrive; an update reaches every day."""
    cache = _cache(services, "tp5")
    today = today_cst()
    last_month = LayerFilters(since=today - timedelta(days=40), until=today - timedelta(days=30))
    recent, past = Asker(cache, layer_question("incidence", ALL), IN_D1), \
        Asker(cache, layer_question("incidence", last_month), IN_D1)
    city_past = Asker(cache, layer_question("cases", last_month), CITY)
    long = Asker(cache, layer_question("incidence", LayerFilters(since=today - timedelta(days=365))), IN_D1)
    summary = Asker(cache, summary_question(last_month), IN_D1)  # it compares with last year: never by day
    askers = (recent, past, city_past, long, summary)
    assert [x.hit() for x in askers] == [False] * 5
    _publish(services, cache, "case_report", D1, onset=today)
    assert [x.hit() for x in askers] == [False, True, True, False, False]
    _publish(services, cache, "case_report", D1, onset=today - timedelta(days=35))
    assert [x.hit() for x in askers] == [True, False, False, False, False]
    _publish(services, cache, "case_report", D1, action="updated", onset=today)
    assert [x.hit() for x in askers] == [False] * 5


def test_a_fieldwork_change_recomputes_the_fieldwork_layers(services: Any) -> None:
    """The fieldwork API announces 'investigation' changes: the 流调 layers recompute, other layers stay hits."""
    cache = _cache(services, "fw1")
    askers = [Asker(cache, layer_question(layer_id, ALL), IN_D1)
              for layer_id in ("fieldwork.places", "fieldwork.contacts", "fieldwork.hotspots")]
    teams = Asker(cache, layer_question("teams", ALL), IN_D1)
    assert [a.hit() for a in (*askers, teams)] == [False] * 4
    assert topics.event_topics(ChangeEvent(kind="investigation", id=1, district_code=D1)) == {"fieldwork"}
    _publish(services, cache, "investigation")
    assert [a.hit() for a in askers] == [False] * 3 and teams.hit() is True
