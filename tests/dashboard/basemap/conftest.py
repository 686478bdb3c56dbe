"""A database of its own, whose app serves a generated MBTiles basemap (BASEMAP_FILE); PMTiles beside it."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config import Settings
from tests.dashboard.basemap.tilefiles import tiles, write_mbtiles, write_pmtiles
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.databases import create_database, drop_database, make_test_settings, migrate


@dataclass(frozen=True)
class TileFiles:
    mbtiles: Path
    pmtiles: Path
    tiles: dict[tuple[int, int, int], bytes]


@pytest.fixture(scope="package")
def tile_files(tmp_path_factory: pytest.TempPathFactory) -> TileFiles:
    folder = tmp_path_factory.mktemp("basemap")
    data = tiles()
    return TileFiles(write_mbtiles(folder / "district.mbtiles", data), write_pmtiles(folder / "district.pmtiles", data),
                     data)


@pytest.fixture(scope="package")
def settings(tile_files: TileFiles) -> Iterator[Settings]:
    name = f"onemap_test_{uuid.uuid4().hex[:10]}"
    create_database(name)
    s = make_test_settings(name, basemap_file=str(tile_files.mbtiles))
    migrate(s)
    yield s
    drop_database(name)
