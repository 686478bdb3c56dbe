"""Chinese map offsets: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS84.

GCJ-02 is a published-by-reverse-engineering obfuscation of WGS84; the forward formula is the
standard one, the inverse is solved by fixed-point iteration (error far below 1 mm).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

SUPPORTED_INPUT_CRS = ("WGS84", "EPSG:4326", "EPSG:4490", "CGCS2000", "GCJ02", "BD09")


class UnknownCRSError(ValueError):
    """The input names a coordinate system we cannot convert."""

    code = "crs.unknown"


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret: np.ndarray = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Apply the GCJ-02 offset (valid inside China, as all our data is)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Invert GCJ-02 by iteration: find w such that gcj(w) equals the input."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        tlon, tlat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = tlon - glon, tlat - glat
        wlon, wlat = wlon - dlon, wlat - dlat
        if np.all(np.abs(dlon) < 1e-10) and np.all(np.abs(dlat) < 1e-10):
            break
    return wlon, wlat


def gcj02_to_bd09(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(lon, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _identity(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


_TO_WGS84: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "WGS84": _identity,
    "EPSG:4326": _identity,
    "EPSG:4490": _identity,
    "CGCS2000": _identity,
    "GCJ02": gcj02_to_wgs84,
    "BD09": bd09_to_wgs84,
}


def normalise_crs_name(name: str) -> str:
    """Accept common spellings: 'gcj-02', 'GCJ02', 'bd09ll', 'epsg:4326'."""
    key = name.strip().upper().replace("-", "").replace("_", "")
    key = {"BD09LL": "BD09", "EPSG4326": "EPSG:4326", "EPSG4490": "EPSG:4490", "4326": "EPSG:4326"}.get(key, key)
    if key.startswith("EPSG") and ":" not in key:
        key = "EPSG:" + key[4:]
    if key not in _TO_WGS84:
        raise UnknownCRSError(f"unknown CRS {name!r}; supported: {', '.join(SUPPORTED_INPUT_CRS)}")
    return key


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates given in `crs` (WGS84, CGCS2000, GCJ02 or BD09) to WGS84."""
    return _TO_WGS84[normalise_crs_name(crs)](lon, lat)
