"""Regions of the demo: the 16 real districts, the city, and stand-in streets and grid for Changning."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import h3
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.ops import nearest_points, unary_union

DATA = Path(__file__).resolve().parent.parent / "data"
CITY_CODE = "310000"
DEMO_DISTRICT = "310105"
ODBL = "© OpenStreetMap contributors, geoBoundaries (ODbL 1.0)"

# Approximate centres of Changning's 街道/镇 (west → east); the polygons grown from them are stand-ins.
STREET_ANCHORS = {
    "310105001": (121.4240, 31.2215),  # 华阳路街道
    "310105002": (121.4335, 31.2225),  # 江苏路街道
    "310105004": (121.4290, 31.2075),  # 新华路街道
    "310105005": (121.4085, 31.2180),  # 周家桥街道
    "310105006": (121.4080, 31.2085),  # 天山路街道
    "310105008": (121.3890, 31.2085),  # 仙霞新村街道
    "310105009": (121.4075, 31.1965),  # 虹桥街道
    "310105010": (121.3680, 31.1960),  # 程家桥街道
    "310105011": (121.3780, 31.2200),  # 北新泾街道
    "310105102": (121.3560, 31.2170),  # 新泾镇
}
GRID_RESOLUTION = 8  # H3 cells of ~0.74 km²


@dataclass(frozen=True)
class RegionSeed:
    code: str
    name: str
    name_en: str | None
    level: str
    parent_code: str | None
    district_code: str | None
    population: int
    population_source: str
    geom: MultiPolygon
    label: Point
    is_demo: bool
    source: str


def _multi(g: Polygon | MultiPolygon) -> MultiPolygon:
    if isinstance(g, MultiPolygon):
        return g
    if isinstance(g, Polygon):
        return MultiPolygon([g])
    return MultiPolygon([p for p in getattr(g, "geoms", []) if isinstance(p, Polygon)])


def districts() -> list[RegionSeed]:
    """The 16 districts from the shipped GeoJSON with their census population."""
    features = json.loads((DATA / "shanghai_districts.geojson").read_text(encoding="utf-8"))["features"]
    out = []
    for f in features:
        p = f["properties"]
        out.append(RegionSeed(
            code=p["code"], name=p["name"], name_en=p["name_en"], level="district", parent_code=CITY_CODE,
            district_code=p["code"], population=int(p["population_2020"]), population_source="census_2020",
            geom=_multi(shape(f["geometry"])), label=Point(p["label_lon"], p["label_lat"]), is_demo=False,
            source=ODBL,
        ))
    return sorted(out, key=lambda r: r.code)


def city(district_rows: list[RegionSeed]) -> RegionSeed:
    geom = _multi(unary_union([d.geom for d in district_rows]))
    return RegionSeed(
        code=CITY_CODE, name="上海市", name_en="Shanghai", level="city", parent_code=None, district_code=None,
        population=sum(d.population for d in district_rows), population_source="census_2020", geom=geom,
        label=Point(121.4737, 31.2304), is_demo=False, source=ODBL,
    )


def _street_names() -> dict[str, str]:
    with (DATA / "changning_subdistricts.csv").open(encoding="utf-8") as fh:
        return {row["code9"]: row["name"] for row in csv.DictReader(fh)}


def _inside(point: Point, area: MultiPolygon) -> Point:
    return point if area.contains(point) else nearest_points(area.buffer(-0.001), point)[0]


def streets(district: RegionSeed) -> list[RegionSeed]:
    """Voronoi cells around the street anchors, clipped to the real district outline."""
    names = _street_names()
    anchors = {code: _inside(Point(xy), district.geom) for code, xy in STREET_ANCHORS.items()}
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(anchors.values())), extend_to=district.geom.envelope)
    out = []
    for code, anchor in anchors.items():
        cell = next(c for c in cells.geoms if c.contains(anchor))
        area = _multi(cell.intersection(district.geom))
        share = area.area / district.geom.area
        out.append(RegionSeed(
            code=code, name=names[code], name_en=None, level="street", parent_code=district.code,
            district_code=district.code, population=round(district.population * share),
            population_source="demo_area_share", geom=area, label=area.representative_point(), is_demo=True,
            source="demo stand-in polygon (Voronoi of approximate street centres, clipped to the district)",
        ))
    return out


def _hexagon(cell: str) -> Polygon:
    return Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])


def _covering_cells(district: MultiPolygon) -> set[str]:
    """H3 cells whose union covers the district: those centred inside, grown by rings until nothing is left out.

    One ring around the centred cells is not always enough: a part of the district narrower than a cell that
    reaches further out (Changning's north-east corner) fell in no cell, and its cases in no grid cell.
    """
    cells: set[str] = set()
    for poly in district.geoms:
        outer = [(lat, lon) for lon, lat in poly.exterior.coords]
        cells |= set(h3.polygon_to_cells(h3.LatLngPoly(outer), GRID_RESOLUTION))
    for _ in range(10):
        cells |= {n for c in list(cells) for n in h3.grid_disk(c, 1)}
        if district.difference(unary_union([_hexagon(c) for c in cells])).area < 1e-12:
            break
    return cells


def grid(street_rows: list[RegionSeed], district: RegionSeed) -> list[RegionSeed]:
    """H3 cells covering the district, clipped, each under the street it overlaps most."""
    out = []
    for cell in sorted(_covering_cells(district.geom)):
        area = _multi(_hexagon(cell).intersection(district.geom))
        if area.is_empty or area.area < 1e-7:
            continue  # a sliver along the border: its cases go to the nearest cell (layers/incidence.py)
        label = area.representative_point()
        parent = max(street_rows, key=lambda s: s.geom.intersection(area).area)
        out.append(RegionSeed(
            code=f"h3:{cell}", name=f"网格 {cell[-6:]}", name_en=None, level="grid", parent_code=parent.code,
            district_code=district.code, population=round(parent.population * area.area / parent.geom.area),
            population_source="demo_area_share", geom=area, label=label, is_demo=False,
            source=f"H3 resolution {GRID_RESOLUTION} cell clipped to the district",
        ))
    return out


def aliases(street_rows: list[RegionSeed], district_rows: list[RegionSeed]) -> dict[str, str]:
    """Short names used in free text: 长宁 → 310105, 华阳路 → its street, 仙霞 → 仙霞新村街道."""
    out: dict[str, str] = {}
    for d in district_rows:
        out[d.name] = d.code
        out[d.name.removesuffix("区").removesuffix("新")] = d.code
    for s in street_rows:
        out[s.name] = s.code
        short = s.name.removesuffix("街道").removesuffix("镇")
        out[short] = s.code
        if short.endswith("新村"):
            out[short.removesuffix("新村")] = s.code
    return {k: v for k, v in out.items() if len(k) >= 2}
