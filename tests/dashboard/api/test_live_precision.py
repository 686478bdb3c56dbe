"""The live relay sends a new case's point no more precisely than the case layer (issue #15 item 9, with #14's rule).

Live case markers made the SSE point visible on /monitor: a masked role (district commander, the wall kiosk,
embeds) got the recorded point of every new case, while its case layer snaps points to a 200 m cell.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from ingest.events import ChangeEvent, publish_change
from layers.precision import snap_point, snapped_sql
from tests.factories.users import make_user

POINTS = [(121.4243, 31.2201), (121.3611, 31.2198), (121.40001, 31.19999), (121.5, 31.3)]


@pytest.mark.parametrize(("lon", "lat"), POINTS)
def test_snap_point_equals_the_sql_snapping(services, lon: float, lat: float) -> None:  # type: ignore[no-untyped-def]
    geom = "ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
    with services.session_factory() as s:
        row = s.execute(text(f"SELECT round(ST_X(p)::numeric, 6), round(ST_Y(p)::numeric, 6) "
                             f"FROM (SELECT {snapped_sql(geom)} AS p) q"), {"x": lon, "y": lat}).one()
    assert snap_point(lon, lat) == pytest.approx([float(row[0]), float(row[1])], abs=2e-6)
    assert snap_point(lon, lat) != [lon, lat]


def _replayed_case(app: Any, token: str, after: str) -> dict[str, Any]:
    """The first `change` frame the live stream replays after event `after`, as this token's screen gets it."""
    client = app.test_client()
    resp = client.get(f"/api/v1/live?last_event_id={after}", headers={"Authorization": f"Bearer {token}"},
                      buffered=False)
    assert resp.status_code == 200
    try:
        buf = ""
        for chunk in resp.response:
            buf += chunk.decode() if isinstance(chunk, bytes) else chunk
            for frame in buf.split("\n\n"):
                if "event: change" in frame:
                    data = next(line[6:] for line in frame.splitlines() if line.startswith("data: "))
                    return json.loads(data)  # type: ignore[no-any-return]
    finally:
        resp.close()
    raise AssertionError("no change frame")


@pytest.mark.parametrize(("role", "pii", "precise"), [("district_commander", False, False),
                                                      ("district_analyst", True, True)])
def test_live_case_point_follows_the_viewers_location_precision(app, services, role, pii, precise) -> None:  # type: ignore[no-untyped-def]
    ns = services.settings.redis_namespace
    district = "319906"
    _, token = make_user(services, role, district, may_view_pii=pii)
    before = publish_change(services.redis, ns, ChangeEvent(kind="marker", id=0, district_code=district))
    exact = [121.424321, 31.220187]
    publish_change(services.redis, ns, ChangeEvent(kind="case_report", id=987654, action="created",
                                                   district_code=district, geometry=exact,
                                                   fields={"case_type": "confirmed"}))
    event = _replayed_case(app, token, before)
    assert event["id"] == 987654
    assert event["geometry"] == (exact if precise else snap_point(*exact))
