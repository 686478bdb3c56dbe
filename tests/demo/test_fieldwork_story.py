"""The demo's 流调 story (demo/fieldwork_story.py) on the seeded demo, after the warning run as `make run` does:
it plays through, a second run changes nothing, and its 7-1-7 figures equal a hand computation."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from alerting.runner import run_all
from demo.fieldwork_story import STEPS, play, play_all
from store.audit import AuditLog
from store.fieldwork import Contact, EventReview, ExposurePlace, Investigation, ResponseMilestone
from store.signals import Signal
from tests.conftest import reference_date


@pytest.fixture(scope="module")
def story(services: Any, demo_data: Any) -> int:
    """The warning run for the demo's last day (as `onemap warn run`), then the story step by step."""
    with services.session_factory() as s, s.begin():
        run_all(s, as_of=reference_date(), district_code="310105")
    for step in STEPS:
        with services.session_factory() as s, s.begin():
            event_id = play(s, step, services.cipher).event_id
    return event_id


def _counts(services: Any) -> tuple[int, ...]:
    with services.session_factory() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (AuditLog, Investigation, ExposurePlace, Contact, ResponseMilestone, EventReview))


def test_story_runs_through_and_twice_changes_nothing(services: Any, story: int) -> None:
    before = _counts(services)
    with services.session_factory() as s, s.begin():
        assert play_all(s, services.cipher).event_id == story
    assert _counts(services) == before
    with services.session_factory() as s:
        event = s.get(Signal, story)
        assert event is not None and event.state == "closed" and event.disease_code == "diarrhoea"
        assert event.region_code == "310105008"  # the street event of the planted outbreak (仙霞新村街道)
        contacts = list(s.scalars(select(Contact)))
        assert len(contacts) == 12 and sorted({c.state for c in contacts}) == ["became_case", "observing", "traced"]
        assert sum(c.state == "became_case" and c.became_case_id is not None for c in contacts) == 2
        assert s.scalar(select(EventReview.state).where(EventReview.signal_id == story)) == "reviewed"


def test_seven_one_seven_equals_a_hand_computation(client: Any, principal_token: Any, story: int) -> None:
    end = reference_date()
    # From the story's script, by hand: the outbreak's first onset 11 days before the demo's last day; raised
    # 6 days before (09:30); verified and reported ('suspected') 4 days before; the last of the six early-response
    # milestones (communication) 1 day before.
    emergence, raised, reported, completed = (end - timedelta(days=n) for n in (11, 6, 4, 1))
    expected: list[tuple[str, date, date, int, bool]] = [
        ("detection", emergence, raised, 11 - 6, True),      # 5 days ≤ 7: met
        ("notification", raised, reported, 6 - 4, False),   # 2 days > 1: missed
        ("response", reported, completed, 4 - 1, True),      # 3 days ≤ 7: met
    ]
    _, token = principal_token("district_analyst", "310105")
    resp = client.get(f"/api/v1/fieldwork/events/{story}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    got = [(s["step"], date.fromisoformat(s["start"]), date.fromisoformat(s["end"]), s["days"], s["met"])
           for s in body["timeliness"]["steps"]]
    assert got == expected
    assert body["timeliness"]["all_met"] is False and body["timeliness"]["missing_milestones"] == []
    stored = body["review"]["timeliness"]["steps"]  # the figures kept with the evaluation are the same
    assert [(s["step"], s["days"], s["met"]) for s in stored] == [(n, d, m) for n, _, _, d, m in expected]
    places = body["investigations"][0]["places"]
    assert len(places) == 3 and sum(p.get("input_crs") == "GCJ02" for p in places) == 1


def test_cli_plays_it_again_without_change(settings: Any, services: Any, story: int) -> None:
    """`onemap demo fieldwork`, as `make run` calls it after `onemap warn run`: a replay writes nothing."""
    from click.testing import CliRunner

    from cli.context import CliContext
    from cli.main import cli

    before = _counts(services)
    result = CliRunner().invoke(cli, ["demo", "fieldwork"], obj=CliContext(settings=settings))
    assert result.exit_code == 0, result.output
    assert f"fieldwork story played on warning event {story}" in result.output
    assert _counts(services) == before
