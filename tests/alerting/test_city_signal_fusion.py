"""Signals from the city are one more source of the warning events (issue #16).

The city's signal (signed POST /api/v1/signals) is kept as an alarm of origin 'city' and fused at once: it joins
the open event of its place × disease × episode (one more independent source, family city:city, at least
`warn.events.city_grade`), or opens one; model alarms of later runs join the event that holds it.
Fixed past dates in a fictional district (tests/alerting/test_loop.py `world`).
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shapely.geometry import box
from sqlalchemy import select

from alerting import service
from alerting.config import WarnConfig
from alerting.event_loop import fuse_alarms
from alerting.explain import explain
from alerting.service import Alarm
from store.inbox import InboxItem
from store.signals import Signal, SignalReceipt
from tests.alerting.test_loop import World, _signed, world  # noqa: F401  (the fictional district)

DAY = date(2024, 3, 12)
NOW = datetime(2024, 3, 12, 4, tzinfo=UTC)


def _model_alarm(services: Any, w: World, street: int, model: str, day: date) -> int:
    """A case model's alarm raised and fused as the runner does; returns its event id."""
    code = w.streets[street]
    alarm = Alarm(model=model, district_code=w.district, region_code=code, disease_code=w.disease,
                  title=f"测试街道{street + 1}测试腹泻{model}报警", as_of=day, observed=3.0, threshold=2.0,
                  window_start=day, params={}, evidence={"model": model, "baseline": 1.0, "alarm_day": day.isoformat()},
                  geometry=box(121.0, 31.0, 121.01, 31.01), push_region_codes=[code])
    with services.session_factory() as db, db.begin():
        sig, _ = service.raise_alarm(db, alarm, verify_hours=24, dedup_days=7, now=NOW, kind="alarm")
        rep = fuse_alarms(db, [(alarm, sig)], as_of=day, district_code=w.district, cfg=WarnConfig(), now=NOW)
        return rep.event_ids[0]


def _post(client: Any, w: World, *, street: int | None, day: date, disease: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"signal_id": f"SH-{uuid.uuid4().hex[:10]}", "district_code": w.district,
                            "title": "市级：多点监测提示聚集", "observed": 9, "threshold": 4,
                            "window_start": (day - timedelta(days=2)).isoformat(), "window_end": day.isoformat()}
    if street is not None:
        body["region_code"] = w.streets[street]
    if disease:
        body["disease_code"] = w.disease
    raw, headers = _signed(w, body)
    r = client.post("/api/v1/signals", data=raw, headers=headers)
    assert r.status_code == 201, r.json
    return {"body": body, **r.json["signal"]}


def _inbox(db: Any, sid: int) -> list[str]:
    return list(db.scalars(select(InboxItem.kind).where(InboxItem.signal_id == sid, InboxItem.recipient_role.is_not(None))
                           .order_by(InboxItem.id)))


def test_a_city_signal_joins_the_open_event_as_one_more_source(services: Any, world: World, client: Any) -> None:
    eid = _model_alarm(services, world, 1, "moving_percentile", DAY - timedelta(days=1))
    with services.session_factory() as db:
        assert db.get(Signal, eid).grade == "blue" and _inbox(db, eid) == []  # one case model alone: listed only
    city = _post(client, world, street=1, day=DAY)
    assert (city["origin"], city["kind"], city["event_id"]) == ("city", "alarm", eid)
    with services.session_factory() as db:
        ev = db.get(Signal, eid)
        assert (ev.kind, ev.origin, ev.grade) == ("event", "fusion", "orange")  # warn.events.city_grade
        assert ev.evidence["sources"] == ["cases", "city"] and "city:city" in ev.evidence["models"]
        assert any("2 个独立数据来源一致" in r for r in ev.evidence["reasons"])
        assert ev.verify_due_at is not None and _inbox(db, eid) == ["signal.new"]
        pushed = set(db.scalars(select(SignalReceipt.institution_id).where(SignalReceipt.signal_id == eid)))
        assert pushed == {world.inst["chc2"], world.inst["hosp"], world.inst["cdc"]}
        alarm = db.get(Signal, city["id"])  # the city's row is evidence: no inbox item, no push of its own
        assert alarm.external_id == city["body"]["signal_id"] and _inbox(db, alarm.id) == []
        assert db.scalar(select(SignalReceipt.id).where(SignalReceipt.signal_id == alarm.id)) is None
    detail = client.get(f"/api/v1/signals/{eid}", headers=world.auth("commander")).json
    assert "市级下发" in explain(detail) and city["id"] in [a["id"] for a in detail["alarms"]]
    again_raw, again_headers = _signed(world, city["body"])
    again = client.post("/api/v1/signals", data=again_raw, headers=again_headers)
    assert again.status_code == 200 and again.json["created"] is False
    with services.session_factory() as db:
        assert len(db.get(Signal, eid).evidence["fusion"]["facts"]) == 2  # a repeated city id is not fused twice


def test_a_city_signal_alone_opens_an_event_that_later_alarms_join(services: Any, world: World, client: Any) -> None:
    day = DAY + timedelta(days=60)
    city = _post(client, world, street=0, day=day)
    eid = city["event_id"]
    with services.session_factory() as db:
        ev = db.get(Signal, eid)
        assert (ev.kind, ev.origin, ev.grade, ev.region_code, ev.disease_code) == (
            "event", "fusion", "orange", world.streets[0], world.disease)
        assert ev.evidence["sources"] == ["city"] and _inbox(db, eid) == ["signal.new"]
    second = _post(client, world, street=0, day=day + timedelta(days=1))  # same episode, no rise
    assert second["event_id"] == eid
    with services.session_factory() as db:
        assert _inbox(db, eid) == ["signal.new", "signal.city"]  # the district still hears the city
    assert _model_alarm(services, world, 0, "cusum", day + timedelta(days=2)) == eid  # the next run's alarm joins it
    with services.session_factory() as db:
        ev = db.get(Signal, eid)
        assert ev.evidence["sources"] == ["cases", "city"] and ev.fire_count == 3
        assert ev.grade in ("orange", "red")


def test_a_city_signal_without_disease_is_a_district_event_of_its_own_group(services: Any, world: World,
                                                                           client: Any) -> None:
    city = _post(client, world, street=None, day=DAY + timedelta(days=120), disease=False)
    with services.session_factory() as db:
        ev = db.get(Signal, city["event_id"])
        assert ev.region_code == world.district and ev.disease_code is None and ev.grade == "orange"
        assert ev.evidence["fusion"]["group"] == "syn:unspecified" and "其他异常" in ev.title
