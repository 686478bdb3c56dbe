"""GCJ-02 / BD-09 conversion against published values, and round trips under 1 m."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from geo import crs

GEOD = Geod(ellps="WGS84")

# Published outputs of wandergis/coordtransform (test/app.js) for the input (116.404, 39.915).
PUBLISHED = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_forward_formulas_match_published_values(name: str) -> None:
    lon, lat = getattr(crs, name)(116.404, 39.915)
    assert float(lon) == pytest.approx(PUBLISHED[name][0], abs=1e-9)
    assert float(lat) == pytest.approx(PUBLISHED[name][1], abs=1e-9)


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:  # type: ignore[no-untyped-def]
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_round_trips_stay_under_one_metre_across_shanghai() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(120.9, 122.0, 2000)
    lat = rng.uniform(30.7, 31.9, 2000)
    for forward, back in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84), (crs.wgs84_to_bd09, crs.bd09_to_wgs84)):
        glon, glat = forward(lon, lat)
        # The offset itself is hundreds of metres: the conversion is not a no-op.
        assert np.median(_metres(lon, lat, glon, glat)) > 300
        wlon, wlat = back(glon, glat)
        assert _metres(lon, lat, wlon, wlat).max() < 1.0


def test_to_wgs84_dispatches_on_names() -> None:
    glon, glat = crs.wgs84_to_gcj02(121.4737, 31.2304)
    lon, lat = crs.to_wgs84(glon, glat, "gcj-02")
    assert _metres(121.4737, 31.2304, lon, lat) < 1.0
    assert crs.to_wgs84(121.0, 31.0, "CGCS2000") == (121.0, 31.0)
    with pytest.raises(crs.UnknownCRSError):
        crs.to_wgs84(121.0, 31.0, "EPSG:9999-bogus")
