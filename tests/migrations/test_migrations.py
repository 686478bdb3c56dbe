"""Alembic migrations go up and down cleanly on a fresh PostGIS database."""
from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, inspect, text

from cli.db import alembic_config
from tests.conftest import create_database, drop_database, make_test_settings


def test_upgrade_downgrade_upgrade() -> None:
    name = f"onemap_mig_{uuid.uuid4().hex[:8]}"
    create_database(name)
    try:
        settings = make_test_settings(name)
        cfg = alembic_config(settings.database_url)
        command.upgrade(cfg, "heads")
        engine = create_engine(settings.database_url)
        tables = set(inspect(engine).get_table_names())
        for table in ("region", "institution", "case_report", "syndromic_count", "lab_result", "team",
                      "team_position", "resource_site", "stock", "signal", "signal_event", "task", "task_event",
                      "org", "app_user", "audit_log", "school_absence", "drug_sales", "weather_daily", "opinion_item"):
            assert table in tables, table
        with engine.connect() as conn:
            gist = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist%' AND schemaname = 'public'"
            )).scalar()
            geometry_columns = conn.execute(text("SELECT count(*) FROM geometry_columns")).scalar()
        # Every geometry column has its GiST index.
        assert gist >= geometry_columns > 10
        command.downgrade(cfg, "base")
        left = set(inspect(engine).get_table_names()) - {"alembic_version", "spatial_ref_sys"}
        assert left == set()
        command.upgrade(cfg, "heads")
        assert "case_report" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        drop_database(name)
