"""Fixtures of this package: its own throwaway database (see tests/conftest.py)."""
from tests.conftest import app, demo_data, login, principal_token, services, settings  # noqa: F401  (a database per package)
