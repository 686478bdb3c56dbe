"""A database of its own, with the dispatch world (tests/factories/dispatch.py) as `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(dispatch_world: Any) -> Any:
    """This package's `world`: `dispatch_world` (tests/databases.py)."""
    return dispatch_world
