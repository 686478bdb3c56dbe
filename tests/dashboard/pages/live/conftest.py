"""Live pages in a database of their own: the synthetic district lies on real Shanghai coordinates, which the
demo data the other page tests seed would claim (a point would fall in two districts)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.factories.intake import World, build_world


@pytest.fixture(scope="package")
def live_world(services: Any) -> World:
    """A fresh district with streets, an institution and a team (tests/factories/intake.py), committed: one for
    the package, as a second one on the same coordinates would claim the first one's points."""
    return build_world(services)
