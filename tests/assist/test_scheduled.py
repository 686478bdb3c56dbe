"""Overdue 协查 requests are reminded once, then escalated once the escalation delay has passed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from assist.scheduled import ESCALATE_AFTER, check_overdue
from store.assist import AssistEvent, AssistRequest
from tests.assist.conftest import District
from tests.assist.test_round_trip import call, new_request


def test_overdue_request_is_reminded_then_escalated(changning: District) -> None:
    created = call(changning, "POST", "/requests", body=new_request(to_district="310120"))
    assert created.status_code == 201
    no = created.json()["request_no"]
    with changning.services.session_factory() as s, s.begin():
        req = s.scalar(select(AssistRequest).where(AssistRequest.request_no == no))
        assert req is not None
        late = req.deadline + timedelta(minutes=1)
        assert no not in check_overdue(s, req.deadline - timedelta(minutes=1)).reminded
        assert no in check_overdue(s, late).reminded
        assert no not in check_overdue(s, late + timedelta(minutes=1)).escalated
        assert no in check_overdue(s, late + ESCALATE_AFTER).escalated
        assert no not in check_overdue(s, late + 2 * ESCALATE_AFTER).escalated
        kinds = list(s.scalars(select(AssistEvent.kind).where(AssistEvent.request_id == req.id)
                               .order_by(AssistEvent.id)))
        assert kinds == ["sent", "reminder", "escalation"]
        assert req.escalation_level == 2


def test_sender_target_needs_configuration(settings) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from assist.sender import AssistConfigError, target_from_settings

    with pytest.raises(AssistConfigError):
        target_from_settings(settings)  # CITY_ASSIST_URL is not set
    target = target_from_settings(settings.model_copy(update={"city_assist_url": "http://city.example"}))
    assert target.key_id == "district-310105" and target.city_url == "http://city.example"
