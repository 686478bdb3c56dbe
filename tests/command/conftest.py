"""A database of its own, with the synthetic district of tests/factories/command.py and a commander of it."""
from __future__ import annotations

from typing import Any

import pytest

from config.runtime import Services
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
from tests.factories.command import DISTRICT, Synthetic, build_world


@pytest.fixture(scope="package")
def synthetic(services: Services) -> Synthetic:
    return build_world(services)


@pytest.fixture(scope="package")
def commander(principal_token: Any) -> Any:
    """(AppUser, bearer token) of a district commander of the synthetic district."""
    return principal_token("district_commander", DISTRICT)
