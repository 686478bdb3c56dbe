"""Street label points for the command wall's place names (gazetteer.labels): one per street, inside it."""
from __future__ import annotations

from sqlalchemy import text

from gazetteer.labels import street_label_points
from tests.factories.monitor import D1, STREETS


def test_one_label_point_per_street_inside_it(services, world) -> None:  # type: ignore[no-untyped-def]
    with services.session_factory() as s:
        s.execute(text("UPDATE region SET label_point = ST_SetSRID(ST_MakePoint(100.1, 10.9), 4326) "
                       "WHERE code = '319901001'"))  # a stored label point wins over the computed one
        fc = street_label_points(s, D1)
        s.rollback()
    features = {f["properties"]["code"]: f for f in fc["features"]}
    assert set(features) == set(STREETS)
    assert features["319901001"]["geometry"]["coordinates"] == [100.1, 10.9]
    assert features["319901001"]["properties"]["name"] == "测试街道1"
    x, y = features["319901002"]["geometry"]["coordinates"]
    assert STREETS["319901002"][0] < x < STREETS["319901002"][1] and 10 < y < 11  # on the street's surface


def test_no_streets_no_labels(services, world) -> None:  # type: ignore[no-untyped-def]
    """A district without street polygons (the second test district) gets an empty layer, not an error."""
    with services.session_factory() as s:
        assert street_label_points(s, "319902") == {"type": "FeatureCollection", "features": []}
