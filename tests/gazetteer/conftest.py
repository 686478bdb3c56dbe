"""A database of its own, with the monitor world (tests/factories/monitor.py) as `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(monitor_world: Any) -> Any:
    """This package's `world`: `monitor_world` (tests/databases.py)."""
    return monitor_world
