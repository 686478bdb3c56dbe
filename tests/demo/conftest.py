"""A database of its own, where the demo is seeded."""
from tests.databases import *  # noqa: F403  (a database of its own: tests/README.md)
