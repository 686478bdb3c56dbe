"""Live pages in a database of their own: the synthetic district lies on real Shanghai coordinates, which the
demo data other monitor tests seed would claim (a point would fall in two districts)."""
from tests.conftest import app, login, principal_token, services, settings  # noqa: F401  (a database per package)
