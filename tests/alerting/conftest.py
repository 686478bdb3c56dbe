"""A database of its own (the demo is seeded here for the runner and backtest tests)."""
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
