"""Offline basemap tiles from a local MBTiles or PMTiles (v3) file, read-only.

A district's GIS staff drop in a file made from their own data; the web shell serves its tiles at
`/basemap/<z>/<x>/<y>.<ext>` (dashboard/basemap.py). MBTiles is SQLite with TMS rows (y counted
from the south: y_tms = 2^z - 1 - y); PMTiles is read with the `pmtiles` package. Raster (png, jpg,
webp) and vector (pbf) tiles are both served as stored; the maps draw raster files.
"""
from __future__ import annotations

import mmap
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pmtiles.reader import Reader as PMTilesReader
from pmtiles.tile import Compression, TileType

MAX_ZOOM = 24
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "pbf": "application/x-protobuf"}
EXT_ALIASES = {"jpeg": "jpg", "mvt": "pbf"}
_PMTILES_EXT = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.MVT: "pbf"}
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_ENTITY = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&copy;": "©", "&nbsp;": " "}


class TileFileError(ValueError):
    """The basemap file is missing, unreadable or of a kind we do not serve."""


class TileRangeError(ValueError):
    """z/x/y outside the tile pyramid, or an unknown extension; names the field."""

    def __init__(self, field_name: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.field, self.message, self.message_zh = field_name, message, message_zh


@dataclass(frozen=True)
class TileInfo:
    """What a map needs to know about the file: tile format, zoom range, bounds, attribution."""

    ext: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (WGS84)
    attribution: str
    gzip: bool = False  # vector tiles stored gzip-compressed (sent with Content-Encoding: gzip)
    name: str = field(default="")


class TileSource(Protocol):
    info: TileInfo

    def tile(self, z: int, x: int, y: int) -> bytes | None: ...


def plain_text(value: object) -> str:
    """Attribution as plain text: tags dropped, common entities decoded, whitespace folded (≤ 200 chars)."""
    text = _TAG.sub("", str(value or ""))
    for entity, char in _ENTITY.items():
        text = text.replace(entity, char)
    return " ".join(text.split())[:200]


def check_tile(z: int, x: int, y: int) -> None:
    """Raise TileRangeError unless 0 ≤ z ≤ 24 and 0 ≤ x, y < 2^z."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileRangeError("z", f"z must be 0–{MAX_ZOOM}", f"缩放级别 z 须为 0–{MAX_ZOOM}")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2 ** z:
            raise TileRangeError(name, f"{name} must be 0–{2 ** z - 1} at z={z}",
                                 f"瓦片坐标 {name} 在缩放级别 {z} 时须为 0–{2 ** z - 1}")


def normalise_ext(ext: str) -> str:
    """`png`, `jpg`/`jpeg`, `webp`, `pbf`/`mvt`; anything else is a TileRangeError on `ext`."""
    key = EXT_ALIASES.get(ext.lower(), ext.lower())
    if key not in MEDIA_TYPES:
        raise TileRangeError("ext", "tile extension must be png, jpg, webp or pbf", "瓦片格式须为 png、jpg、webp 或 pbf")
    return key


def _bounds(value: object) -> tuple[float, float, float, float] | None:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        return None
    try:
        parts = [float(v) for v in items]
    except (TypeError, ValueError, AttributeError):
        return None
    if len(parts) != 4 or not (-180 <= parts[0] < parts[2] <= 180 and -90 <= parts[1] < parts[3] <= 90):
        return None
    return parts[0], parts[1], parts[2], parts[3]


def _int(value: object, default: int) -> int:
    try:
        return max(0, min(MAX_ZOOM, int(str(value))))
    except (TypeError, ValueError):
        return default


class MBTilesSource:
    """An MBTiles (SQLite) file opened read-only; one short connection per tile (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self._uri = f"{path.resolve().as_uri().replace('file://', 'file:', 1)}?mode=ro"
        try:
            with self._connect() as conn:
                meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
                zooms = conn.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
        except sqlite3.Error as exc:
            raise TileFileError(f"{path}: not a readable MBTiles file ({exc})") from None
        ext = EXT_ALIASES.get(str(meta.get("format", "png")).lower(), str(meta.get("format", "png")).lower())
        if ext not in MEDIA_TYPES:
            raise TileFileError(f"{path}: tile format {ext!r} is not served")
        low, high = (zooms if zooms and zooms[0] is not None else (0, 0))
        self.info = TileInfo(ext=ext, min_zoom=_int(meta.get("minzoom"), low), max_zoom=_int(meta.get("maxzoom"), high),
                             bounds=_bounds(meta.get("bounds")), attribution=plain_text(meta.get("attribution")),
                             gzip=ext == "pbf", name=plain_text(meta.get("name")))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._uri, uri=True, check_same_thread=False)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        conn = self._connect()
        try:
            row = conn.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                               (z, x, (1 << z) - 1 - y)).fetchone()
        finally:
            conn.close()
        return bytes(row[0]) if row else None


class PMTilesSource:
    """A PMTiles v3 file, memory-mapped once and read through the `pmtiles` package's reader."""

    def __init__(self, path: Path) -> None:
        try:
            self._file = path.open("rb")
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            self._reader = PMTilesReader(lambda offset, length: self._map[offset:offset + length])
            header = self._reader.header()
            meta = self._reader.metadata()
        except Exception as exc:  # the pmtiles reader raises its own errors for bad magic / version
            raise TileFileError(f"{path}: not a readable PMTiles v3 file ({type(exc).__name__})") from None
        ext = _PMTILES_EXT.get(header["tile_type"])
        if ext is None:
            raise TileFileError(f"{path}: tile type {header['tile_type'].name} is not served")
        bounds = _bounds([header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
                          header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7])
        self.info = TileInfo(ext=ext, min_zoom=header["min_zoom"], max_zoom=header["max_zoom"], bounds=bounds,
                             attribution=plain_text(meta.get("attribution") if isinstance(meta, dict) else ""),
                             gzip=header["tile_compression"] == Compression.GZIP,
                             name=plain_text(meta.get("name") if isinstance(meta, dict) else ""))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        data = self._reader.get(z, x, y)
        return bytes(data) if data else None


def open_tiles(path: str | Path) -> TileSource:
    """The file at `path` as a tile source, chosen by its first bytes; TileFileError when unusable."""
    file = Path(path)
    try:
        with file.open("rb") as f:
            magic = f.read(16)
    except OSError as exc:
        raise TileFileError(f"{file}: cannot be read ({exc.strerror})") from None
    if magic.startswith(b"PMTiles"):
        return PMTilesSource(file)
    if magic.startswith(b"SQLite format 3\x00"):
        return MBTilesSource(file)
    raise TileFileError(f"{file}: neither an MBTiles nor a PMTiles file")

