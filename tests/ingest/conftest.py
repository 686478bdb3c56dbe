"""A database of its own, with the intake world (tests/factories/intake.py) as `world`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)


@pytest.fixture(scope="package")
def world(intake_world: Any) -> Any:
    """This package's `world`: `intake_world` (tests/databases.py)."""
    return intake_world
