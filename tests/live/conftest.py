"""Live pages in a database of their own: the synthetic district lies on real Shanghai coordinates, which the
demo data other monitor tests seed would claim (a point would fall in two districts)."""
import pytest

from tests.conftest import app, login, principal_token, services, settings  # noqa: F401  (a database per package)
from tests.ingest.conftest import World, build_world


@pytest.fixture(scope="package")
def live_world(services) -> World:  # type: ignore[no-untyped-def]  # noqa: F811
    """A fresh district with streets, an institution and a team (tests/ingest/conftest.py), committed: one for
    the package, as a second one on the same coordinates would claim the first one's points."""
    return build_world(services)
