"""`onemap import regions|institutions`: every format, reprojection, and all-or-nothing rejection."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from demo import geography
from gazetteer.errors import ImportRejected
from gazetteer.institutions import import_institutions
from gazetteer.regions import RegionRow, read_regions, store_regions
from geo.crs import wgs84_to_gcj02
from store.places import Institution, Region

# Two small squares inside Changning (Tianshan and Xianxia areas).
STREET_A = box(121.400, 31.205, 121.410, 31.212)
STREET_B = box(121.385, 31.205, 121.395, 31.212)


@pytest.fixture
def districts(db: Session) -> Session:
    """The city and its 16 districts in this test's transaction."""
    rows = geography.districts()
    city = geography.city(rows)
    store_regions(db, [RegionRow(city.code, city.name, "city", city.geom, None, city.population)], source="test")
    store_regions(db, [RegionRow(d.code, d.name, "district", d.geom, "310000", d.population) for d in rows],
                  source="test")
    return db


def _streets(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame({"code": ["T001", "T002"], "name": ["测试街道甲", "测试街道乙"], "pop": ["1000", "2000"]},
                           geometry=[STREET_A, STREET_B], crs="EPSG:4326")
    return gdf.to_crs(crs)


@pytest.mark.parametrize("suffix,driver", [(".geojson", "GeoJSON"), (".shp", "ESRI Shapefile"), (".gpkg", "GPKG")])
def test_each_vector_format_loads_with_parent(districts: Session, tmp_path: Path, suffix: str, driver: str) -> None:
    path = tmp_path / f"streets{suffix}"
    _streets("EPSG:3857").to_file(path, driver=driver)  # a projected CRS: must come back as WGS84
    rows = read_regions(path, level="street", population_field="pop")
    assert store_regions(districts, rows, source="test") == 2
    stored = districts.execute(select(Region.code, Region.parent_code, Region.population,
                                      func.ST_Area(Region.geom)).where(Region.code.in_(["T001", "T002"]))
                               .order_by(Region.code)).all()
    assert [(r[0], r[1], r[2]) for r in stored] == [("T001", "310105", 1000), ("T002", "310105", 2000)]
    assert stored[0][3] == pytest.approx(STREET_A.area, rel=1e-6)


def test_gcj02_input_is_converted(districts: Session, tmp_path: Path) -> None:
    gcj = _streets()
    gcj["geometry"] = [Polygon(zip(*wgs84_to_gcj02(*g.exterior.xy), strict=True)) for g in gcj.geometry]
    path = tmp_path / "gcj.geojson"
    gcj.to_file(path, driver="GeoJSON")
    rows = read_regions(path, level="street", crs="GCJ02")
    # Back on WGS84 within a centimetre or so of the original square.
    assert rows[0].geom.symmetric_difference(STREET_A).area < 1e-9


def test_institutions_csv_assigns_district(districts: Session, tmp_path: Path) -> None:
    path = tmp_path / "inst.csv"
    path.write_text("code,name,kind,lon,lat,fever_clinic,level\n"
                    "T-H1,测试医院,hospital,121.405,31.208,是,二级\n"
                    "T-C1,测试中心,chc,121.47,31.23,0,一级\n", encoding="utf-8")
    assert import_institutions(districts, path) == 2
    rows = dict(districts.execute(select(Institution.code, Institution.district_code)
                                  .where(Institution.code.like("T-%"))).all())
    assert rows == {"T-H1": "310105", "T-C1": "310101"}


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Region).where(Region.code.like("T%")))


def test_bad_geometry_names_the_row_and_writes_nothing(districts: Session, tmp_path: Path) -> None:
    bowtie = Polygon([(121.40, 31.20), (121.41, 31.21), (121.41, 31.20), (121.40, 31.21)])
    gdf = gpd.GeoDataFrame({"code": ["T001", "T002"], "name": ["好", "坏"]}, geometry=[STREET_A, bowtie],
                           crs="EPSG:4326")
    path = tmp_path / "bad.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(ImportRejected) as err:
        read_regions(path, level="street")
    assert "row 2 [geometry]" in str(err.value) and "geometry.invalid" in str(err.value)
    assert _count(districts) == 0


def test_unknown_crs_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.geojson"
    path.write_text('{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:bogus"}},'
                    '"features":[]}', encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        read_regions(path, level="street", crs="EPSG:999999")
    assert "crs.unknown" in str(err.value)


def test_file_without_crs_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "noprj.shp"
    _streets().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(ImportRejected) as err:
        read_regions(path, level="street")
    assert "file: the file declares no CRS" in str(err.value)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": ["T001"]}, geometry=[STREET_A], crs="EPSG:4326")
    path = tmp_path / "noname.gpkg"
    gdf.to_file(path, driver="GPKG")
    with pytest.raises(ImportRejected) as err:
        read_regions(path, level="street")
    assert "missing columns: name" in str(err.value)


def test_institution_rows_outside_area_reject_the_whole_file(districts: Session, tmp_path: Path) -> None:
    path = tmp_path / "inst.csv"
    path.write_text("code,name,kind,lon,lat\nT-H1,好医院,hospital,121.405,31.208\n"
                    "T-H2,坏医院,hospital,31.208,121.405\nT-H3,,spaceship,x,1\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_institutions(districts, path)
    assert "row 3 [lon/lat]" in str(err.value)
    path.write_text("code,name,kind,lon,lat\nT-H1,好医院,hospital,121.405,31.208\n"
                    "T-H2,坏医院,spaceship,31.208,121.405\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_institutions(districts, path)
    text = str(err.value)
    assert "row 2 [kind]" in text and "row 2 [geometry]: point lies in no known district" in text
    assert districts.scalar(select(func.count()).select_from(Institution).where(Institution.code.like("T-%"))) == 0


def test_cli_reports_rejection_without_traceback(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from cli.context import CliContext
    from cli.main import cli

    path = tmp_path / "bad.csv"
    path.write_text("code,name\nA,B\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "institutions", str(path)], obj=CliContext(settings=settings))
    assert result.exit_code == 1
    assert "missing columns: lon, lat" in result.output
