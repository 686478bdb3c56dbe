"""The demo-dependent browser tests of the pages: the demo is seeded once here (about a minute),
beside the monitor world (far from Shanghai, so they never mix), which is `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(monitor_world: Any) -> Any:
    """This package's `world`: `monitor_world` (tests/databases.py)."""
    return monitor_world
