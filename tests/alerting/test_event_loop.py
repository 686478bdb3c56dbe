"""Warning events in the loop: alarms stay evidence, events are graded, pushed and verified, rises are recorded."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from shapely.geometry import box
from sqlalchemy import func, select

from alerting import service
from alerting.config import WarnConfig
from alerting.event_loop import fuse_alarms
from alerting.schemas import SignalQuery
from alerting.service import Alarm
from store.inbox import InboxItem
from store.signals import Signal, SignalEvent, SignalReceipt
from tests.alerting.test_loop import World, world  # noqa: F401  (the fictional district)

DAY = date(2031, 5, 10)


def _alarm(w: World, model: str, day: date, observed: float, threshold: float) -> Alarm:
    code = w.streets[0]
    return Alarm(model=model, district_code=w.district, region_code=code, disease_code=w.disease,
                 title=f"测试街道1测试腹泻{model}报警", as_of=day, observed=observed, threshold=threshold,
                 window_start=day, params={}, evidence={"model": model, "baseline": 0.5, "alarm_day": day.isoformat()},
                 geometry=box(121.0, 31.0, 121.01, 31.01), push_region_codes=[code])


def _run(services: Any, w: World, alarms: list[Alarm], day: date) -> dict[str, Any]:
    with services.session_factory() as db, db.begin():
        raised = [(a, service.raise_alarm(db, a, verify_hours=24, dedup_days=7, kind="alarm")[0]) for a in alarms]
        rep = fuse_alarms(db, raised, as_of=day, district_code=w.district, cfg=WarnConfig(),
                          now=datetime(2031, 5, 10, 2, tzinfo=UTC))
        return {"report": rep, "alarm_ids": [s.id for _, s in raised]}


def _inbox(db: Any, sid: int) -> list[str]:
    """The district staff's inbox items of a signal (institutions get theirs with the push)."""
    return list(db.scalars(select(InboxItem.kind).where(InboxItem.signal_id == sid, InboxItem.recipient_role.is_not(None))
                           .order_by(InboxItem.id)))


def test_a_blue_event_is_listed_not_pushed_and_its_rise_to_yellow_enters_the_loop(services: Any, world: World) -> None:
    first = _run(services, world, [_alarm(world, "moving_percentile", DAY, 3, 2)], DAY)
    assert first["report"].created == 1 and first["report"].notified == 0
    eid = first["report"].event_ids[0]
    with services.session_factory() as db:
        ev, alarm = db.get(Signal, eid), db.get(Signal, first["alarm_ids"][0])
        assert (ev.kind, ev.origin, ev.grade, ev.state, ev.verify_due_at) == ("event", "fusion", "blue", "new", None)
        assert (alarm.kind, alarm.event_id) == ("alarm", eid)
        assert db.scalar(select(func.count()).select_from(InboxItem).where(  # neither the blue event nor the alarm
            InboxItem.signal_id.in_([eid, alarm.id]))) == 0
        assert db.scalar(select(func.count()).select_from(SignalReceipt).where(
            SignalReceipt.signal_id.in_([eid, alarm.id]))) == 0
    # the next day CUSUM agrees: the same event rises to yellow, is pushed and enters the inbox
    day2 = DAY + timedelta(days=1)
    second = _run(services, world, [_alarm(world, "moving_percentile", day2, 5, 2), _alarm(world, "cusum", day2, 4, 0.5)],
                  day2)
    assert second["report"].created == 0 and second["report"].graded == 1 and second["report"].notified == 1
    assert second["report"].event_ids == [eid]
    with services.session_factory() as db:
        ev = db.get(Signal, eid)
        assert ev.grade == "yellow" and ev.verify_due_at is not None and ev.window_end == day2
        assert _inbox(db, eid) == ["signal.new"]
        receipts = set(db.scalars(select(SignalReceipt.institution_id).where(SignalReceipt.signal_id == eid)))
        assert {world.inst["chc1"], world.inst["cdc"]} <= receipts
        rise = db.scalars(select(SignalEvent).where(SignalEvent.signal_id == eid, SignalEvent.action == "graded")).all()
        assert [(r.data["from_grade"], r.data["to_grade"]) for r in rise] == [("blue", "yellow")]
        lines = ev.evidence["explanation"]
        assert any("cusum" in x for x in lines) and any("moving_percentile" in x for x in lines)
        assert {a for a in ev.evidence["alarm_ids"]} == set(first["alarm_ids"] + second["alarm_ids"])
    # a re-run of the same day changes nothing
    again = _run(services, world, [_alarm(world, "moving_percentile", day2, 5, 2), _alarm(world, "cusum", day2, 4, 0.5)],
                 day2)
    assert again["report"].event_ids == [] and again["report"].created == 0


def test_the_loop_lists_verifies_and_escalates_events_not_alarms(services: Any, world: World) -> None:
    day = DAY + timedelta(days=40)
    out = _run(services, world, [_alarm(world, "moving_percentile", day, 9, 2), _alarm(world, "cusum", day, 6, 0.5)], day)
    eid = out["report"].event_ids[0]
    analyst, chc1 = world.principals["analyst"], world.principals["chc1"]
    with services.session_factory() as db:
        total, rows = service.list_signals(db, actor=analyst, query=SignalQuery(disease_code=world.disease, limit=500))
        assert eid in {r.id for r in rows} and all(r.kind == "event" for r in rows)
        _, alarms = service.list_signals(db, actor=analyst, query=SignalQuery(event_id=eid))
        assert {a.id for a in alarms} == set(out["alarm_ids"])
        detail = service.signal_detail(db, actor=analyst, signal_id=eid)
        assert {a["id"] for a in detail["alarms"]} == set(out["alarm_ids"]) and detail["grade"] == "orange"
        assert service.signal_detail(db, actor=chc1, signal_id=eid)["alarms"] == []  # institutions see the event
    with services.session_factory() as db, db.begin():
        late = datetime(2031, 7, 1, tzinfo=UTC)
        escalated = service.check_overdue(db, late)
        assert eid in escalated and not set(out["alarm_ids"]) & set(escalated)
    with services.session_factory() as db, db.begin():
        service.transition(db, actor=analyst, signal_id=eid, to="verifying", reason="核实事件")
    with services.session_factory() as db, db.begin():
        service.acknowledge(db, actor=chc1, signal_id=eid)
        assert db.get(Signal, eid).state == "verifying"
