"""Live push of 协查 changes: announced after commit (never for a rolled-back change), addressed to the holding
district, without the reason, facts or personal data; the API and the inbound route publish to the event stream."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from accounts.principal import Principal
from accounts.tokens import principal_for_user
from assist import inbound, service
from assist.models import AssistCreate, AssistMessage
from ingest.events import read_events_after
from store.accounts import AppUser
from tests.assist.conftest import District
from tests.assist.test_round_trip import PERSONAL, call, new_request
from tests.factories.users import make_user


def _commander(services: Any) -> Principal:
    user, _ = make_user(services, "district_commander", "310105", may_view_pii=True)
    with services.session_factory() as s:
        return principal_for_user(s, s.scalar(select(AppUser).where(AppUser.id == user.id)))


def _create(services: Any, actor: Principal, heard: list[dict[str, Any]]) -> int:
    with services.session_factory() as s, s.begin():
        req = service.create_request(s, actor=actor, data=AssistCreate.model_validate(new_request()),
                                     district="310105", cipher=services.cipher, publish=heard.append)
        assert heard == []  # not before the commit
        return req.id


def test_changes_are_announced_after_commit_only(services: Any) -> None:
    actor, heard = _commander(services), []
    request_id = _create(services, actor, heard)
    (created,) = heard
    assert created["kind"] == "assist" and created["id"] == request_id and created["action"] == "created"
    assert created["district_code"] == "310105" and created["geometry"] == [121.437, 31.188]
    assert created["fields"]["state"] == "sent" and created["fields"]["direction"] == "out"
    text = json.dumps(created, ensure_ascii=False)
    assert "徐汇" not in text and PERSONAL["name"] not in text and "核实" not in text  # no reason, place name, facts
    with services.session_factory() as s:  # a change rolled back is never announced
        service.create_request(s, actor=actor, data=AssistCreate.model_validate(new_request()), district="310105",
                               cipher=services.cipher, publish=heard.append)
        s.rollback()
    assert len(heard) == 1


def test_an_inbound_state_change_is_announced_to_the_holder(services: Any) -> None:
    actor, heard = _commander(services), []
    request_id = _create(services, actor, heard)
    with services.session_factory() as s:
        req = s.get(service.AssistRequest, request_id)
        assert req is not None
        no = req.request_no
        req.state = "received"
        s.commit()
    msg = AssistMessage.model_validate({
        "message_id": uuid.uuid4().hex, "kind": "state", "state": "accepted", "request_no": no,
        "from_district": "310105", "to_district": "310104", "origin": "310104",
        "at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(), "actor": "徐汇区 李四"})
    with services.session_factory() as s, s.begin():
        inbound.apply_message(s, msg, actor=None, district="310105", private_key_hex="", cipher=services.cipher,
                              publish=heard.append)
    assert heard[-1]["id"] == request_id and heard[-1]["fields"]["state"] == "accepted"
    assert heard[-1]["district_code"] == "310105" and heard[-1]["action"] == "updated"


def test_the_api_publishes_to_the_event_stream(changning: District) -> None:
    svc = changning.services
    ns = svc.settings.redis_namespace
    last = (svc.redis.xrevrange(f"{ns}:events", count=1) or [(b"0-0", {})])[0][0]
    created = call(changning, "POST", "/requests", body=new_request())
    assert created.status_code == 201, created.text
    events = [e for _, e in read_events_after(svc.redis, ns, last.decode() if isinstance(last, bytes) else last)]
    mine = [e for e in events if e["kind"] == "assist" and e["id"] == created.json()["id"]]
    assert [e["action"] for e in mine] == ["created"] and mine[0]["district_code"] == "310105"
