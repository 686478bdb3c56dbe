"""A database of its own, whose app serves a generated MBTiles basemap (BASEMAP_FILE); PMTiles beside it."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config import Settings
from tests.basemap.tilefiles import tiles, write_mbtiles, write_pmtiles
from tests.conftest import (  # noqa: F401  (a database per package)
    app,
    create_database,
    demo_data,
    drop_database,
    login,
    make_test_settings,
    migrate,
    principal_token,
    services,
)


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
