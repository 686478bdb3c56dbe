"""One database for tests/dashboard (api/, components/, ogc/ too), with the monitor world as `world`.

Modules that need another world name it (scope_world, dispatch_world, intake_world) or alias it as `world`.
dashboard/basemap and dashboard/pages (and its demo/, live/) have databases of their own."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(monitor_world: Any) -> Any:
    """This package's `world`: `monitor_world` (tests/databases.py)."""
    return monitor_world
