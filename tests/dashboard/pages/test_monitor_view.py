"""The KPI figures name the last live event they include (assets/monitor_kpis.js adds the cases heard after it)."""
from __future__ import annotations

from typing import Any

from dashboard.answer_cache import AnswerCache
from dashboard.pages.monitor_view import kpi_cards
from ingest.events import ChangeEvent, publish_change
from tests.dashboard.test_answer_cache import CITY, Counter
from tests.factories.monitor import D1


def test_an_answer_carries_the_last_event_it_includes(services: Any) -> None:
    cache = AnswerCache(services.redis, f"{services.settings.redis_namespace}:mark")
    compute = Counter()
    first = publish_change(services.redis, cache.namespace, ChangeEvent(kind="case_report", id=1, district_code=D1))
    computed, hit = cache.answer("q", CITY, compute), cache.answer("q", CITY, compute)
    assert (computed.cached, hit.cached) == (False, True)
    assert computed.version.split("/")[0] == hit.version.split("/")[0] == first
    second = publish_change(services.redis, cache.namespace, ChangeEvent(kind="case_report", id=2, district_code=D1))
    assert cache.answer("q", CITY, compute).version.split("/")[0] == second != first


def test_each_kpi_figure_carries_the_mark() -> None:
    kpis = {key: {"cases": 1234, "yoy_pct": None, "last_year": 0, "definition": "x"}
            for key in ("today", "days7", "days28")}
    cards = kpi_cards(kpis, "1732950000000-3")
    figures = [c.children[1] for c in cards]
    assert [f.id for f in figures] == ["mon-kpi-today", "mon-kpi-days7", "mon-kpi-days28"]
    assert [f.children for f in figures] == ["1,234"] * 3
    assert {getattr(f, "data-live-mark") for f in figures} == {"1732950000000-3"}
