"""Every engine's connections carry the session settings (geo.db.SESSION_OPTIONS), whatever the server's defaults."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.db import make_engine
from tests.databases import BASE_DB_URL


@pytest.mark.parametrize("connect_args", [None, {"connect_timeout": 2}])  # the primary's and a replica's engine
def test_connections_run_without_jit(connect_args: dict[str, int] | None) -> None:
    engine = make_engine(BASE_DB_URL, **({"connect_args": connect_args} if connect_args else {}))
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SHOW jit")) == "off"
            server_default = conn.scalar(text("SELECT boot_val FROM pg_settings WHERE name = 'jit'"))
        assert server_default == "on"  # what a connection would get otherwise
    finally:
        engine.dispose()
