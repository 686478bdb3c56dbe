"""Small basemap files for the tests: z 10–12 tiles around Shanghai as MBTiles and PMTiles, PNGs made with numpy."""
from __future__ import annotations

import json
import math
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

BBOX = (121.0, 30.9, 121.8, 31.5)  # west, south, east, north: Changning and its neighbours
ZOOMS = (10, 11, 12)
COLOURS = {10: (233, 222, 196), 11: (214, 232, 200), 12: (200, 216, 236)}
ATTRIBUTION = '<a href="https://example.invalid">© 长宁区规划资源局 测试底图</a><script>alert(1)</script>'


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of the array (height × width × 3), written by hand (no Pillow needed)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].astype(np.uint8).tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def tile_image(z: int, x: int, y: int) -> bytes:
    """A pale tile with a dark grid border and a corner block that encodes x, y (every tile differs)."""
    img = np.empty((256, 256, 3), dtype=np.uint8)
    img[:] = COLOURS[z]
    img[:3, :], img[-3:, :], img[:, :3], img[:, -3:] = 90, 90, 90, 90
    img[8:40, 8:40] = (x % 256, y % 256, z * 10)
    return png(img)


def tiles() -> dict[tuple[int, int, int], bytes]:
    """Every tile (XYZ numbering) that touches BBOX at z 10–12."""
    west, south, east, north = BBOX
    out = {}
    for z in ZOOMS:
        x0, y0 = tile_xy(west, north, z)
        x1, y1 = tile_xy(east, south, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                out[(z, x, y)] = tile_image(z, x, y)
    return out


def write_mbtiles(path: Path, data: dict[tuple[int, int, int], bytes], attribution: str = ATTRIBUTION) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name text, value text)")
    conn.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    meta = {"name": "测试底图", "format": "png", "minzoom": str(min(ZOOMS)), "maxzoom": str(max(ZOOMS)),
            "bounds": ",".join(str(v) for v in BBOX), "attribution": attribution, "type": "baselayer"}
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                     [(z, x, (1 << z) - 1 - y, blob) for (z, x, y), blob in data.items()])  # TMS rows
    conn.commit()
    conn.close()
    return path


def write_pmtiles(path: Path, data: dict[tuple[int, int, int], bytes], attribution: str = ATTRIBUTION) -> Path:
    west, south, east, north = BBOX
    with write(str(path)) as writer:
        for (z, x, y), blob in sorted(data.items(), key=lambda kv: zxy_to_tileid(*kv[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), blob)
        writer.finalize({
            "tile_type": TileType.PNG, "tile_compression": Compression.NONE,
            "min_zoom": min(ZOOMS), "max_zoom": max(ZOOMS),
            "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
            "center_zoom": 11, "center_lon_e7": int(121.4 * 1e7), "center_lat_e7": int(31.2 * 1e7),
        }, {"name": "测试底图", "attribution": attribution, "description": json.dumps({"bbox": BBOX})})
    return path
