"""The 协查请求 map layer: a district's own open requests with a place, nothing of others, no reason or facts."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.srid import SRID
from layers.assists import assists_geojson
from layers.base import LayerFilters
from layers.registry import get_layer
from store.assist import AssistRequest

NOW = datetime(2026, 11, 5, 8, tzinfo=UTC)


def _request(db: Session, tag: str, *, direction: str, frm: str, to: str, state: str = "received",
             place: tuple[float, float] | None = (121.43, 31.19), deadline: datetime = NOW + timedelta(days=1)
             ) -> AssistRequest:
    req = AssistRequest(request_no=f"XC-T-{tag}-{uuid.uuid4().hex[:8]}", direction=direction, from_district=frm,
                        to_district=to, subject_kind="contact", reason="密接核查（不上图）", facts=["核实住址"],
                        place_name=f"地点{tag}", deadline=deadline, state=state, attachments=[], escalation_level=0,
                        place=None if place is None else from_shape(Point(*place), srid=SRID))
    db.add(req)
    db.flush()
    return req


def _world(db: Session) -> dict[str, AssistRequest]:
    return {
        "out": _request(db, "out", direction="out", frm="310105", to="310104", state="accepted"),
        "in_late": _request(db, "in", direction="in", frm="310104", to="310105", deadline=NOW - timedelta(hours=1)),
        "closed": _request(db, "closed", direction="out", frm="310105", to="310106", state="closed"),
        "no_place": _request(db, "noplace", direction="in", frm="310106", to="310105", place=None),
        "other": _request(db, "other", direction="out", frm="310104", to="310105"),
    }


def _ids(fc: Any) -> set[int]:
    return {f["properties"]["id"] for f in fc["features"]}


def test_a_district_sees_its_own_open_requests_with_a_place(db: Session) -> None:
    rows = _world(db)
    fc = assists_geojson(db, district_code="310105", now=NOW)
    assert _ids(fc) == {rows["out"].id, rows["in_late"].id}
    props = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    late, out = props[rows["in_late"].id], props[rows["out"].id]
    assert late["overdue"] is True and late["direction_zh"] == "本区收到" and late["state_zh"] == "已送达"
    assert out["overdue"] is False and out["direction_zh"] == "本区发出" and out["state_zh"] == "已受理"
    assert out["deadline"].endswith("+08:00")
    assert list(fc["features"][0]["geometry"]["coordinates"]) == [121.43, 31.19]
    assert "密接核查" not in json.dumps(fc, ensure_ascii=False)  # neither the reason nor the facts go on the map


def test_the_other_district_and_the_city(db: Session) -> None:
    rows = _world(db)
    assert _ids(assists_geojson(db, district_code="310104", now=NOW)) == {rows["other"].id}
    every = _ids(assists_geojson(db, district_code=None, now=NOW))
    assert {rows["out"].id, rows["in_late"].id, rows["other"].id} <= every
    assert rows["closed"].id not in every and rows["no_place"].id not in every


def test_registered_and_scoped_by_the_principal(db: Session) -> None:
    rows = _world(db)
    layer = get_layer("assists")
    assert layer is not None and layer.title == "协查请求" and layer.group == "command"
    commander = Principal(user_id=1, username="t", role="district_commander", org_id=1, region_code="310105")
    assert _ids(layer.query(db, commander, LayerFilters())) >= {rows["out"].id, rows["in_late"].id}
    assert rows["other"].id not in _ids(layer.query(db, commander, LayerFilters()))
    inst = Principal(user_id=2, username="i", role="institution_user", org_id=2, region_code="310105",
                     institution_id=1)
    assert layer.query(db, inst, LayerFilters())["features"] == []
    far = LayerFilters(bbox=(100.0, 10.0, 101.0, 11.0))
    assert _ids(layer.query(db, commander, far)).isdisjoint({rows["out"].id, rows["in_late"].id})
