"""A database of its own, with the scope world (tests/factories/scope.py) as `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(scope_world: Any) -> Any:
    """This package's `world`: `scope_world` (tests/databases.py)."""
    return scope_world
