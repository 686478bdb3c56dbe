"""Case heat map: the kernel density keeps the case count, the PNG is valid, the API counts the same cases."""
from __future__ import annotations

import base64
import struct
import zlib
from datetime import timedelta

import numpy as np
from sqlalchemy import text

from layers.heat import colourise, density_grid, png_bytes
from tests.factories.monitor import D1


def test_density_integrates_to_the_number_of_cases():
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(121.40, 121.44, 300), rng.uniform(31.20, 31.23, 300)])
    density, cell = density_grid(points, (121.30, 31.10, 121.55, 31.33), bandwidth_m=300, cell_m=50)
    assert abs(density.sum() * (cell / 1000) ** 2 - 300) < 3  # per km² × cell area, kernel well inside the extent
    north_half, south_half = density[: density.shape[0] // 2].sum(), density[density.shape[0] // 2:].sum()
    assert north_half > south_half  # row 0 is the north: the cases lie north of the extent's middle


def test_png_is_a_valid_rgba_image():
    rgba = colourise(np.array([[0.0, 1.0, 2.0], [4.0, 8.0, 0.0]]))
    assert rgba[0, 0, 3] == 0 and rgba[1, 1, 3] > rgba[0, 1, 3]  # transparent where empty, denser is more opaque
    data = png_bytes(rgba)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (3, 2, 8, 6)
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + idat_len])
    assert raw == b"".join(b"\x00" + rgba[y].tobytes() for y in range(2))


def test_heat_layer_counts_the_same_cases_as_sql(client, world, db):
    since = (world.today - timedelta(days=27)).isoformat()
    resp = client.get(f"/api/v1/layers/cases.heat?since={since}&until={world.today.isoformat()}",
                      headers={"Authorization": f"Bearer {world.tokens['d1']}"})
    assert resp.status_code == 200
    props = resp.get_json()["features"][0]["properties"]
    expected = db.scalar(text("SELECT count(*) FROM case_report WHERE district_code = :d AND geom IS NOT NULL AND "
                              "case_type IN ('confirmed', 'clinical') AND onset_date BETWEEN :a AND :b"),
                         {"d": D1, "a": world.today - timedelta(days=27), "b": world.today})
    assert props["cases"] == expected > 0
    assert props["image"].startswith("data:image/png;base64,")
    assert base64.b64decode(props["image"].split(",", 1)[1])[:4] == b"\x89PNG"
