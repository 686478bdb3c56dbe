"""Read GeoJSON / Shapefile / GeoPackage / CSV into WGS84 GeoDataFrames, checking CRS and columns."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gazetteer.errors import ImportRejected, RowProblem
from geo.crs import UnknownCRSError, normalise_crs_name, to_wgs84
from geo.srid import SRID

_OFFSET_CRS = {"GCJ02", "BD09"}


def _file_problem(code: str, message: str, field: str | None = None) -> ImportRejected:
    return ImportRejected([RowProblem(None, field, code, message)])


def read_vector(path: Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file and return it in EPSG:4326; `crs` overrides or supplies a missing CRS."""
    if path.suffix.lower() == ".csv":
        return read_points_csv(path, crs)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # fiona/pyogrio raise many types for unreadable files
        raise _file_problem("file.unreadable", f"cannot read {path.name}: {exc}") from exc
    return _to_wgs84(gdf, crs)


def read_points_csv(path: Path, crs: str | None) -> gpd.GeoDataFrame:
    """CSV with `lon` and `lat` columns (and optionally a per-file `crs` option)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise _file_problem("file.unreadable", f"cannot read {path.name}: {exc}") from exc
    missing = [c for c in ("lon", "lat") if c not in df.columns]
    if missing:
        raise _file_problem("file.missing_columns", f"missing columns: {', '.join(missing)}", missing[0])
    problems: list[RowProblem] = []
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    for i in df.index[lon.isna() | lat.isna()]:
        problems.append(RowProblem(int(i) + 1, "lon/lat", "geometry.not_a_number", "lon/lat is not a number"))
    if problems:
        raise ImportRejected(problems)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=None)
    return _to_wgs84(gdf, crs or "WGS84")


def _to_wgs84(gdf: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    if crs:
        try:
            name = normalise_crs_name(crs)
        except UnknownCRSError:
            name = None
        if name in _OFFSET_CRS:
            gdf = gdf.set_crs(None, allow_override=True)
            gdf["geometry"] = shapely.transform(
                gdf.geometry.values, lambda xy: _offset_to_wgs84(xy, name), include_z=False
            )
            return gdf.set_crs(SRID)
        try:
            gdf = gdf.set_crs(CRS.from_user_input(_epsg_alias(crs)), allow_override=True)
        except CRSError as exc:
            raise _file_problem("crs.unknown", f"unknown CRS {crs!r}") from exc
    if gdf.crs is None:
        raise _file_problem("crs.unknown", "the file declares no CRS; pass --crs (e.g. EPSG:4326, GCJ02, BD09)")
    return gdf.to_crs(SRID)


def _epsg_alias(crs: str) -> str:
    return {"WGS84": "EPSG:4326", "CGCS2000": "EPSG:4490"}.get(crs.strip().upper(), crs)


def _offset_to_wgs84(xy: np.ndarray, name: str) -> np.ndarray:
    lon, lat = to_wgs84(xy[:, 0], xy[:, 1], name)
    xy = xy.copy()
    xy[:, 0], xy[:, 1] = lon, lat
    return xy


def require_columns(gdf: gpd.GeoDataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise _file_problem("file.missing_columns", f"missing columns: {', '.join(missing)}", missing[0])
