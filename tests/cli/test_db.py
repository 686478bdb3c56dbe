"""Issue #15 item 10: `db upgrade` says what to install when PostGIS is missing (cli/db.py)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import click
import pytest

from cli.db import check_postgis, postgis_problem


class _FakeConn:
    """Answers the three catalogue queries of postgis_problem like a server without (or with) PostGIS."""

    def __init__(self, available: bool, installed: bool, superuser: bool) -> None:
        self.engine = SimpleNamespace(url=SimpleNamespace(host="db.example", port=5433, database="onemap",
                                                          username="onemap"))
        self.answers = {"pg_available_extensions": SimpleNamespace(installed_version="3.4" if installed else None)
                        if available else None, "server_version": "16.2", "rolsuper": superuser}

    def execute(self, stmt: Any) -> Any:
        sql = str(stmt)
        key = next(k for k in self.answers if k in sql)
        return SimpleNamespace(first=lambda: self.answers[key], scalar=lambda: self.answers[key])


def test_missing_postgis_names_the_package_to_install() -> None:
    message = postgis_problem(_FakeConn(available=False, installed=False, superuser=True))  # type: ignore[arg-type]
    assert message and "postgresql-16-postgis-3" in message and "db.example:5433" in message


def test_postgis_available_but_not_enabled_without_superuser() -> None:
    message = postgis_problem(_FakeConn(available=True, installed=False, superuser=False))  # type: ignore[arg-type]
    assert message and "CREATE EXTENSION postgis" in message
    assert postgis_problem(_FakeConn(available=True, installed=False, superuser=True)) is None  # type: ignore[arg-type]
    assert postgis_problem(_FakeConn(available=True, installed=True, superuser=False)) is None  # type: ignore[arg-type]


def test_real_server_passes_the_check(settings) -> None:  # type: ignore[no-untyped-def]
    check_postgis(settings.database_url)  # the test server has PostGIS: no exception


def test_check_postgis_stops_with_the_message(monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("cli.db.postgis_problem", lambda conn: "install postgis")
    with pytest.raises(click.ClickException, match="install postgis"):
        check_postgis(settings.database_url)
