"""Two small districts with a record behind every layer (tests/factories/layer_world.py), in tests/dashboard's
database; the live server is `live_url` (tests/databases.py)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories.layer_world import LayerWorld, build_layer_world


@pytest.fixture(scope="package")
def lw(services: Any) -> LayerWorld:
    return build_layer_world(services)
