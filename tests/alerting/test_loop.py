"""The closed loop of a signal: state machine, dedup, push and receipts, escalation, inbox, the city POST."""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from accounts.principal import CITY_CODE, Principal
from accounts.request_signing import sign_request
from accounts.tokens import principal_for_user
from alerting import service
from alerting.service import Alarm, SignalError
from security.sm2 import generate_keypair
from store.accounts import ApiClient, AppUser
from store.audit import AuditLog
from store.cases import Disease
from store.inbox import InboxItem
from store.places import Institution, Region
from store.signals import Signal, SignalEvent, SignalReceipt
from tests.factories.users import make_user


@dataclass
class World:
    district: str
    streets: list[str]
    disease: str
    inst: dict[str, int] = field(default_factory=dict)
    users: dict[str, tuple[AppUser, str]] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    city_key_id: str = ""
    city_private: str = ""

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.users[who][1]}"}


@pytest.fixture(scope="module")
def world(services: Any) -> World:
    """A fictional district (unique code) with two streets, four institutions, users of each role and a city client."""
    rnd = random.Random(uuid.uuid4().int)
    with services.session_factory() as db, db.begin():
        while True:
            district = f"3{rnd.randrange(20000, 99999)}"
            if db.get(Region, district) is None:
                break
        tag = uuid.uuid4().hex[:6]
        w = World(district=district, streets=[district + "001", district + "002"], disease=f"t{tag}")
        def mp(x: float) -> Any:
            return from_shape(MultiPolygon([box(x, 31.0, x + 0.02, 31.02)]), srid=4326)

        db.add(Region(code=district, name="测试区", level="district", district_code=district, geom=mp(121.0)))
        db.flush()
        for i, code in enumerate(w.streets):
            db.add(Region(code=code, name=f"测试街道{i + 1}", level="street", parent_code=district,
                          district_code=district, geom=mp(121.0 + 0.01 * i)))
        db.add(Disease(code=w.disease, name="测试腹泻", name_en="test", klass="丙", category="intestinal"))
        db.flush()
        for key, kind, street in [("chc1", "chc", 0), ("chc2", "chc", 1), ("hosp", "hospital", 1), ("cdc", "cdc", 0)]:
            inst = Institution(code=f"T-{tag}-{key}", name=f"测试{key}", kind=kind, district_code=district,
                               region_code=w.streets[street])
            db.add(inst)
            db.flush()
            w.inst[key] = inst.id
    for who, role, inst in [("commander", "district_commander", None), ("analyst", "district_analyst", None),
                            ("chc1", "institution_user", "chc1"), ("chc2", "institution_user", "chc2"),
                            ("city", "city_admin", None)]:
        region = CITY_CODE if role == "city_admin" else district
        w.users[who] = make_user(services, role, region, w.inst[inst] if inst else None)
    other = make_user(services, "district_commander", "310104")
    w.users["other"] = other
    with services.session_factory() as db:
        for who, (user, _) in w.users.items():
            w.principals[who] = principal_for_user(db, db.get(AppUser, user.id))
    api_user, _ = make_user(services, "city_api", CITY_CODE)
    w.city_private, public = generate_keypair()
    w.city_key_id = f"city-{tag}"
    with services.session_factory() as db, db.begin():
        db.add(ApiClient(key_id=w.city_key_id, name="市级平台", user_id=api_user.id, sm2_public_key=public))
    return w


def _alarm(w: World, day: date, *, street: int = 0, observed: float = 12.0) -> Alarm:
    code = w.streets[street]
    return Alarm(model="moving_percentile", district_code=w.district, region_code=code, disease_code=w.disease,
                 title="测试街道测试腹泻近7天病例数超过历史同期P80", as_of=day, observed=observed, threshold=5.0,
                 window_start=day - timedelta(days=6), params={"window": 7, "percentile": 80.0},
                 evidence={"model": "moving_percentile", "observed": observed, "threshold": 5.0,
                           "alarm_day": day.isoformat()},
                 geometry=box(121.0, 31.0, 121.01, 31.01), push_region_codes=[code])


def _raise(services: Any, w: World, day: date, **kw: Any) -> tuple[int, str]:
    with services.session_factory() as db, db.begin():
        sig, outcome = service.raise_alarm(db, _alarm(w, day, **kw), verify_hours=24, dedup_days=7)
        return sig.id, outcome


DAY = date(2030, 1, 10)


def test_state_machine_enforced_and_every_change_recorded(services: Any, world: World) -> None:
    sid, outcome = _raise(services, world, DAY, street=1)
    assert outcome == "created"
    analyst, commander = world.principals["analyst"], world.principals["commander"]
    with services.session_factory() as db, db.begin():
        with pytest.raises(SignalError) as bad:
            service.transition(db, actor=analyst, signal_id=sid, to="confirmed", reason="跳过核实")
        assert bad.value.code == "signal.invalid_transition" and bad.value.field == "to"
    path = [("verifying", analyst), ("suspected", analyst), ("confirmed", commander), ("responding", commander),
            ("closed", commander)]
    for to, who in path:
        with services.session_factory() as db, db.begin():
            if to == "confirmed":  # analysts may not confirm an event
                with pytest.raises(SignalError) as forbidden, db.begin_nested():
                    service.transition(db, actor=analyst, signal_id=sid, to=to, reason="x")
                assert forbidden.value.code == "signal.forbidden_role"
            service.transition(db, actor=who, signal_id=sid, to=to, reason=f"理由-{to}")
    with services.session_factory() as db:
        events = db.scalars(select(SignalEvent).where(SignalEvent.signal_id == sid, SignalEvent.action == "transition")
                            .order_by(SignalEvent.id)).all()
        assert [(e.from_state, e.to_state) for e in events] == [
            ("new", "verifying"), ("verifying", "suspected"), ("suspected", "confirmed"),
            ("confirmed", "responding"), ("responding", "closed")]
        assert all(e.reason == f"理由-{e.to_state}" and e.actor_user_id for e in events)
        audits = db.scalars(select(AuditLog.action).where(AuditLog.object_type == "signal",
                                                          AuditLog.object_id == str(sid))).all()
        assert audits.count("signal.transition") == 5 and "signal.created" in audits
        with pytest.raises(SignalError) as closed:
            service.transition(db, actor=commander, signal_id=sid, to="verifying", reason="重开")
        assert closed.value.code == "signal.invalid_transition"


def test_repeated_firing_updates_the_open_signal(services: Any, world: World) -> None:
    day = DAY + timedelta(days=40)
    sid, outcome = _raise(services, world, day)
    assert outcome == "created"
    assert _raise(services, world, day) == (sid, "unchanged")  # the same day re-run
    assert _raise(services, world, day + timedelta(days=2), observed=15) == (sid, "refired")
    with services.session_factory() as db:
        sig = db.get(Signal, sid)
        assert sig.fire_count == 2 and sig.window_end == day + timedelta(days=2) and sig.observed == 15
        assert db.scalar(select(SignalEvent.id).where(SignalEvent.signal_id == sid, SignalEvent.action == "refired"))
    # beyond the dedup window a new signal opens
    sid2, outcome2 = _raise(services, world, day + timedelta(days=2 + 8))
    assert outcome2 == "created" and sid2 != sid
    # a closed or excluded signal is never re-used
    with services.session_factory() as db, db.begin():
        for to in ("verifying", "excluded"):
            service.transition(db, actor=world.principals["analyst"], signal_id=sid2, to=to, reason="排除")
    sid3, outcome3 = _raise(services, world, day + timedelta(days=11))
    assert outcome3 == "created" and sid3 not in (sid, sid2)


def test_push_receipts_and_acknowledgement(services: Any, world: World, client: Any) -> None:
    sid, _ = _raise(services, world, DAY + timedelta(days=100))
    with services.session_factory() as db:
        pushed = set(db.scalars(select(SignalReceipt.institution_id).where(SignalReceipt.signal_id == sid)))
        items = db.scalars(select(InboxItem).where(InboxItem.signal_id == sid)).all()
    # street 1's centre and the district CDC; not the institutions of the other street
    assert pushed == {world.inst["chc1"], world.inst["cdc"]}
    assert {i.recipient_institution_id for i in items if i.recipient_institution_id} == pushed
    assert any(i.recipient_role == service.STAFF_ROLE for i in items)

    r = client.post(f"/api/v1/signals/{sid}/acknowledge", headers=world.auth("chc2"))
    assert r.status_code == 404  # not pushed to chc2: it cannot even see the signal
    r = client.post(f"/api/v1/signals/{sid}/acknowledge", headers=world.auth("chc1"))
    assert r.status_code == 200, r.json
    assert r.json["receipt"]["acknowledged_at"] and r.json["receipt"]["institution_id"] == world.inst["chc1"]
    again = client.post(f"/api/v1/signals/{sid}/acknowledge", headers=world.auth("chc1"))
    assert again.json["receipt"]["acknowledged_at"] == r.json["receipt"]["acknowledged_at"]
    r = client.post(f"/api/v1/signals/{sid}/acknowledge", headers=world.auth("analyst"))
    assert r.status_code == 403 and r.json["error"]["code"] == "signal.ack_institution_only"
    detail = client.get(f"/api/v1/signals/{sid}", headers=world.auth("commander")).json
    assert detail["receipts_total"] == 2 and detail["receipts_acknowledged"] == 1
    assert [e["action"] for e in detail["events"]].count("acknowledged") == 1
    inst_view = client.get(f"/api/v1/signals/{sid}", headers=world.auth("chc1")).json
    assert [r["institution_id"] for r in inst_view["receipts"]] == [world.inst["chc1"]]
    assert inst_view["allowed_transitions"] == []


def test_late_verification_is_escalated_once(services: Any, world: World) -> None:
    sid, _ = _raise(services, world, DAY + timedelta(days=200))
    started, _ = _raise(services, world, DAY + timedelta(days=200), street=1)
    with services.session_factory() as db, db.begin():
        service.transition(db, actor=world.principals["analyst"], signal_id=started, to="verifying", reason="核实中")
        due = db.get(Signal, sid).verify_due_at
    with services.session_factory() as db, db.begin():
        assert sid not in service.check_overdue(db, due - timedelta(minutes=1))
    with services.session_factory() as db, db.begin():
        escalated = service.check_overdue(db, due + timedelta(hours=1))
    assert sid in escalated and started not in escalated
    with services.session_factory() as db, db.begin():
        assert sid not in service.check_overdue(db, due + timedelta(hours=2))
        sig = db.get(Signal, sid)
        assert sig.escalated_at is not None
        ev = db.scalar(select(SignalEvent).where(SignalEvent.signal_id == sid, SignalEvent.action == "escalated"))
        assert ev is not None and "核实时限" in ev.reason
        box_ = service.inbox(db, actor=world.principals["commander"])
        assert any(i["signal_id"] == sid and i["kind"] == "signal.escalated" for i in box_["items"])
        assert not any(i["kind"] == "signal.escalated" and i["signal_id"] == sid
                       for i in service.inbox(db, actor=world.principals["analyst"])["items"])


def test_api_scope_transition_errors_assign_and_inbox(services: Any, world: World, client: Any) -> None:
    sid, _ = _raise(services, world, DAY + timedelta(days=300))
    assert client.get(f"/api/v1/signals/{sid}", headers=world.auth("other")).status_code == 404
    listed = client.get(f"/api/v1/signals?disease_code={world.disease}&open_only=true", headers=world.auth("commander"))
    assert listed.status_code == 200 and sid in [i["id"] for i in listed.json["items"]]
    assert client.get(f"/api/v1/signals?disease_code={world.disease}", headers=world.auth("other")).json["total"] == 0
    bad = client.get("/api/v1/signals?state=bogus", headers=world.auth("commander"))
    assert bad.status_code == 422 and bad.json["error"]["field"] == "state"
    r = client.post(f"/api/v1/signals/{sid}/transition", json={"to": "verifying"}, headers=world.auth("analyst"))
    assert r.status_code == 422 and r.json["error"]["field"] == "reason"
    r = client.post(f"/api/v1/signals/{sid}/transition", json={"to": "closed", "reason": "x"},
                    headers=world.auth("analyst"))
    assert r.status_code == 409 and r.json["error"]["code"] == "signal.invalid_transition"
    assert r.json["error"]["message_zh"]
    r = client.post(f"/api/v1/signals/{sid}/transition", json={"to": "verifying", "reason": "电话核实"},
                    headers=world.auth("analyst"))
    assert r.status_code == 200 and r.json["state"] == "verifying"
    assert r.json["allowed_transitions"] == ["excluded", "suspected"]
    analyst_id = world.users["analyst"][0].id
    r = client.post(f"/api/v1/signals/{sid}/assign", json={"user_id": world.users["chc1"][0].id},
                    headers=world.auth("commander"))
    assert r.status_code == 422 and r.json["error"]["code"] == "signal.bad_assignee"
    r = client.post(f"/api/v1/signals/{sid}/assign", json={"user_id": analyst_id, "reason": "请核实"},
                    headers=world.auth("commander"))
    assert r.status_code == 200 and r.json["assignee_user_id"] == analyst_id
    inbox = client.get("/api/v1/signals/inbox", headers=world.auth("analyst")).json
    mine = [i for i in inbox["items"] if i["signal_id"] == sid]
    assert {i["kind"] for i in mine} >= {"signal.new", "signal.assigned"}
    item = next(i for i in mine if i["kind"] == "signal.assigned")
    read = client.post(f"/api/v1/signals/inbox/{item['id']}/read", headers=world.auth("analyst"))
    assert read.status_code == 200 and read.json["read_at"]
    assert client.post(f"/api/v1/signals/inbox/{item['id']}/read", headers=world.auth("other")).status_code == 404
    assert client.get("/api/v1/signals/99999999999", headers=world.auth("commander")).status_code == 404


def _signed(w: World, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = sign_request(private_key_hex=w.city_private, key_id=w.city_key_id, method="POST",
                           path="/api/v1/signals", body=raw)
    return raw, {**headers, "Content-Type": "application/json"}


def test_city_signal_signed_idempotent_replay_refused(services: Any, world: World, client: Any) -> None:
    city_id = f"SH-{uuid.uuid4().hex[:10]}"
    body = {"signal_id": city_id, "district_code": world.district, "region_code": world.streets[1],
            "disease_code": world.disease, "title": "市级：测试腹泻聚集", "description": "市级多点监测发现聚集",
            "observed": 9, "threshold": 4, "geometry": {"type": "Point", "coordinates": [121.015, 31.005]}}
    raw, headers = _signed(world, body)
    r = client.post("/api/v1/signals", data=raw, headers=headers)
    assert r.status_code == 201, r.json
    assert r.json["created"] is True and r.json["signal"]["origin"] == "city"
    sid = r.json["signal"]["id"]
    replay = client.post("/api/v1/signals", data=raw, headers=headers)
    assert replay.status_code == 401 and replay.json["error"]["code"] == "sig.replayed"
    raw2, headers2 = _signed(world, body)
    again = client.post("/api/v1/signals", data=raw2, headers=headers2)
    assert again.status_code == 200 and again.json == {"created": False, "signal": again.json["signal"]}
    assert again.json["signal"]["id"] == sid
    unsigned = client.post("/api/v1/signals", json=body, headers=world.auth("commander"))
    assert unsigned.status_code == 401 and unsigned.json["error"]["code"] == "sig.missing"
    raw3, headers3 = _signed(world, {**body, "signal_id": city_id + "x"})
    bad_sig = client.post("/api/v1/signals", data=raw3.replace(b"9", b"8"), headers=headers3)
    assert bad_sig.status_code == 401 and bad_sig.json["error"]["code"] == "sig.bad_signature"
    raw4, headers4 = _signed(world, {**body, "signal_id": city_id + "y", "region_code": "310105008"})
    wrong = client.post("/api/v1/signals", data=raw4, headers=headers4)
    assert wrong.status_code == 422 and wrong.json["error"]["field"] == "region_code"
    raw5, headers5 = _signed(world, {**body, "signal_id": city_id + "z", "district_code": "31x"})
    invalid = client.post("/api/v1/signals", data=raw5, headers=headers5)
    assert invalid.status_code == 422 and invalid.json["error"]["field"] == "district_code"
    with services.session_factory() as db:
        assert db.scalar(select(Signal.id).where(Signal.external_id.like(f"{city_id}%"))) == sid
        sig = db.get(Signal, sid)  # kept as an alarm; its warning event carries the clock and the push
        assert sig.state == "new" and sig.kind == "alarm" and sig.geom is not None and sig.event_id is not None
        event = db.get(Signal, sig.event_id)
        assert event.verify_due_at is not None and event.geom is not None
        pushed = set(db.scalars(select(SignalReceipt.institution_id).where(SignalReceipt.signal_id == event.id)))
        assert pushed == {world.inst["chc2"], world.inst["hosp"], world.inst["cdc"]}
    detail = client.get(f"/api/v1/signals/{sid}", headers=world.auth("commander")).json
    assert detail["events"][0]["action"] == "received" and detail["geometry"]["type"] == "Point"
    from alerting.explain import explain

    assert "市级平台下发" in explain(detail) and city_id in explain(detail)


def test_live_event_published_only_after_commit(services: Any, world: World) -> None:
    sent: list[dict[str, Any]] = []
    with services.session_factory() as db, db.begin():
        service.raise_alarm(db, _alarm(world, DAY + timedelta(days=500)), verify_hours=24, dedup_days=7,
                            publish=sent.append)
        assert sent == []
    assert len(sent) == 1 and sent[0]["kind"] == "signal" and sent[0]["district_code"] == world.district
    assert sent[0]["geometry"] and sent[0]["fields"]["state"] == "new"
    lost: list[dict[str, Any]] = []
    with services.session_factory() as db:
        db.begin()
        service.raise_alarm(db, _alarm(world, DAY + timedelta(days=600)), verify_hours=24, dedup_days=7,
                            publish=lost.append)
        db.rollback()
    assert lost == []


def test_runs_after_intake_are_debounced_and_daily_runs_happen_once(services: Any, world: World) -> None:
    from datetime import datetime as dt

    from alerting.triggers import CST, WarnLoop, dirty_key, mark_dirty

    ns = f"{services.settings.redis_namespace}:{uuid.uuid4().hex[:6]}"
    now = [dt(2030, 6, 1, 5, 0, tzinfo=CST).timestamp()]
    loop = WarnLoop(redis=services.redis, namespace=ns, session_factory=services.session_factory,
                    district_code=world.district, debounce_s=30, clock=lambda: now[0])

    def due() -> list[str]:  # the overdue check (every minute) is tested on its own above
        return [x for x in loop.tick() if x != "overdue"]

    assert due() == []  # nothing arrived, before the daily time
    mark_dirty(services.redis, ns, now=now[0])
    now[0] += 10
    assert due() == []  # still within the debounce
    mark_dirty(services.redis, ns, now=now[0])  # more data restarts the debounce
    now[0] += 25
    assert due() == []
    now[0] += 10
    assert due() == ["intake"] and services.redis.get(dirty_key(ns)) is None
    now[0] = dt(2030, 6, 1, 6, 31, tzinfo=CST).timestamp()
    assert due() == ["daily"]
    assert "daily" not in due()  # once a day, also across workers (a Redis key per day)
    services.redis.set(f"{ns}:warn:lock", "other-worker")
    mark_dirty(services.redis, ns, now=now[0] - 60)
    assert loop.run(date(2030, 6, 1), "test") is None and "intake" not in due()
    assert services.redis.get(dirty_key(ns)) is not None  # kept for the next tick
    for key in services.redis.scan_iter(f"{ns}:*"):
        services.redis.delete(key)
