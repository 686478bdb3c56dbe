"""The demo data set: complete, deterministic, spatially consistent, personal data encrypted."""
from __future__ import annotations

import os
import subprocess
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from demo.seed import seed_demo
from geo.db import session_scope
from tests.conftest import create_database, drop_database, make_test_settings, migrate, reference_date

# Order-independent fingerprints of the generated rows (ciphertexts have random nonces, so not those).
CHECKSUMS = {
    "case_report": "SELECT count(*), md5(string_agg(source_id || disease_code || onset_date || coalesce(region_code,'')"
                   " || ST_AsText(geom) || report_time || coalesce(audit_time::text,'') || age || outcome, ','"
                   " ORDER BY source_id)) FROM case_report",
    "region": "SELECT count(*), md5(string_agg(code || population || ST_AsText(geom), ',' ORDER BY code)) FROM region",
    "institution": "SELECT count(*), md5(string_agg(code || ST_AsText(geom), ',' ORDER BY code)) FROM institution",
    "syndromic_count": "SELECT count(*), md5(string_agg(source_id || visits || cases, ',' ORDER BY source_id))"
                       " FROM syndromic_count",
    "lab_result": "SELECT count(*), md5(string_agg(source_id || result, ',' ORDER BY source_id)) FROM lab_result",
    "stock": "SELECT count(*), md5(string_agg(site_id || item_code || quantity, ',' ORDER BY site_id, item_code))"
             " FROM stock",
}


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {name: tuple(conn.execute(text(sql)).one()) for name, sql in CHECKSUMS.items()}
    engine.dispose()
    return out


def test_demo_is_complete_and_timed(demo_data) -> None:  # type: ignore[no-untyped-def]
    print(f"\ndemo seed took {demo_data.seconds:.1f} s: {demo_data.counts}")
    counts = demo_data.counts
    assert counts["region"] == 1 + 16 + 10 + counts["region"] - 27  # city, 16 districts, 10 streets, grid cells
    assert counts["disease"] >= 20 and counts["team"] == 20 and counts["resource_site"] == 10
    assert counts["case_report"] > 300_000 and counts["syndromic_count"] > 10_000


def _seed_fresh(settings, end) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Seed the demo into a new database (same keys) and fingerprint it; the database is dropped after."""
    from config.runtime import build_services

    name = f"onemap_det_{uuid.uuid4().hex[:8]}"
    create_database(name)
    try:
        other = make_test_settings(name, pii_keys=settings.pii_keys.get_secret_value(),
                                   blind_index_key=settings.blind_index_key.get_secret_value())
        migrate(other)
        svc = build_services(other, pool_size=1)
        with session_scope(svc.session_factory) as session:
            seed_demo(session, cipher=svc.cipher, end=end)
        svc.engine.dispose()
        return _fingerprint(other.database_url)
    finally:
        drop_database(name)


def test_demo_is_deterministic(settings) -> None:  # type: ignore[no-untyped-def]
    # Two fresh databases: the session's own holds other tests' rows too.
    end = __import__("datetime").date(2026, 11, 23)
    first, second = _seed_fresh(settings, end), _seed_fresh(settings, end)
    print(f"\ndemo fingerprints: {first}")
    assert first == second
    assert first["case_report"][0] > 300_000


def _scalar(url: str, sql: str):  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def test_second_seed_writes_nothing(demo_data, services) -> None:  # type: ignore[no-untyped-def]
    with session_scope(services.session_factory) as session:
        assert seed_demo(session, cipher=services.cipher, end=reference_date()).skipped


def test_every_institution_and_case_lies_in_its_district_and_street(demo_data, settings) -> None:  # type: ignore[no-untyped-def]
    outside = {
        "institutions outside district": "SELECT count(*) FROM institution i JOIN region r ON r.code = i.district_code"
                                         " WHERE NOT ST_Contains(r.geom, i.geom)",
        "institutions outside street": "SELECT count(*) FROM institution i JOIN region r ON r.code = i.region_code"
                                       " WHERE r.level = 'street' AND NOT ST_Contains(r.geom, i.geom)",
        "cases outside district": "SELECT count(*) FROM case_report c JOIN region r ON r.code = c.district_code"
                                  " WHERE NOT ST_Intersects(r.geom, c.geom)",
        "cases outside street": "SELECT count(*) FROM case_report c JOIN region r ON r.code = c.region_code"
                                " WHERE r.level = 'street' AND NOT ST_Intersects(r.geom, c.geom)",
        "changning cases without street": "SELECT count(*) FROM case_report WHERE district_code = '310105'"
                                          " AND length(region_code) <> 9",
    }
    for what, sql in outside.items():
        assert _scalar(settings.database_url, sql) == 0, what


def test_planted_outbreak_is_in_the_last_two_weeks(demo_data, settings) -> None:  # type: ignore[no-untyped-def]
    n = _scalar(settings.database_url, """
        SELECT count(*) FROM case_report c, setting s WHERE s.key = 'demo.seeded' AND c.disease_code = 'diarrhoea'
        AND c.region_code = '310105008' AND c.onset_date > (s.value->>'end')::date - 14""")
    baseline = _scalar(settings.database_url, """
        SELECT count(*) / 52.0 FROM case_report c, setting s WHERE s.key = 'demo.seeded'
        AND c.disease_code = 'diarrhoea' AND c.region_code = '310105008'
        AND c.onset_date BETWEEN (s.value->>'end')::date - 379 AND (s.value->>'end')::date - 15""")
    assert n > 40 > 4 * float(baseline) * 2


def test_pg_dump_holds_no_clear_personal_data(demo_data, settings, services) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from store.cases import CaseReport

    with services.session_factory() as session:
        rows = session.execute(select(CaseReport.name_enc, CaseReport.id_number_enc, CaseReport.phone_enc)
                               .where(CaseReport.name_enc.is_not(None)).limit(200)).all()
    secrets = [services.cipher.decrypt(v, f"case_report.{f}")
               for r in rows for v, f in zip(r, ("name", "id_number", "phone"), strict=True)]
    assert len(secrets) == 600
    url = make_url(settings.database_url)
    dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
                           "--data-only", url.database], capture_output=True, check=True,
                          env={**os.environ, "PGPASSWORD": url.password or ""}).stdout.decode("utf-8", "replace")
    assert len(dump) > 10_000_000
    leaked = [s for s in secrets if s in dump and len(s) >= 3]
    assert leaked == []


def test_last_day_reports_are_not_swollen(demo_data, settings) -> None:  # type: ignore[no-untyped-def]
    """Cases not yet reported at the cutoff (06:00 of the end day) are not in the demo: its last hour holds no pile-up."""
    cutoff = "(((s.value->>'end')::date + time '06:00') AT TIME ZONE 'Asia/Shanghai')"
    last_hour, hourly = (_scalar(settings.database_url, f"""
        SELECT count(*) / {hours}.0 FROM case_report c, setting s WHERE s.key = 'demo.seeded'
        AND c.report_time > {cutoff} - interval '{hours} hours' AND c.report_time <= {cutoff} - interval '{skip} hours'""")
                         for hours, skip in ((1, 0), (24 * 14, 24 * 7)))
    assert float(hourly) > 0
    assert float(last_hour) < 4 * float(hourly), (last_hour, hourly)
