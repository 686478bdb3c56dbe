"""A database of its own for the page tests without the demo, with the dispatch world as `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(dispatch_world: Any) -> Any:
    """This package's `world`: `dispatch_world` (tests/databases.py)."""
    return dispatch_world
