"""A database of its own (the demo is seeded here for the rollup checks)."""
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
