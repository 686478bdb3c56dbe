"""The monitor world: two far-away districts (319901, 319902 at lon 100–103, lat 10–11), streets, grid cells,
institutions, 400 cases and three signals."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from layers.base import CST, today_cst
from tests.factories.places import square

D1, D2 = "319901", "319902"
STREETS = {"319901001": (100.0, 100.5), "319901002": (100.5, 101.0)}
GRIDS = {"h3:8f0000000000001": (100.0, 100.25), "h3:8f0000000000002": (100.25, 100.5),
         "h3:8f0000000000003": (100.5, 101.0)}
DISEASES = ("tmona", "tmonb")



@dataclass
class MonitorWorld:
    today: date
    institution_ids: list[int] = field(default_factory=list)
    signal_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


def _cases(rng: random.Random, today: date, inst: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in range(400):
        district = D1 if n % 3 else D2
        x0 = 100.0 if district == D1 else 102.0
        lon, lat = x0 + rng.uniform(0.01, 0.99), 10 + rng.uniform(0.01, 0.99)
        street = next((code for code, (a, b) in STREETS.items() if a <= lon < b), None) if district == D1 else None
        back = rng.choice([rng.randint(0, 40), 365 + rng.randint(-3, 30)])  # this period and last year's
        onset = today - timedelta(days=back)
        diag = datetime.combine(onset, time(9), CST) + timedelta(hours=rng.randint(0, 72))
        report = diag + timedelta(hours=rng.choice([2, 10, 20, 30, 50]))
        audit = None if rng.random() < 0.1 else report + timedelta(hours=rng.choice([1, 5, 23, 26, 60]))
        rows.append(dict(
            source_id=f"TMON:{n}", disease_code=DISEASES[n % 2], case_type=rng.choice(
                ["confirmed", "confirmed", "clinical", "suspected"]), onset_date=onset, diagnosis_time=diag,
            report_time=report, audit_time=audit, reporting_institution_id=inst[n % 2] if district == D1 else None,
            region_code=street or district, district_code=district, lon=lon, lat=lat,
            age=None if rng.random() < 0.05 else rng.randint(1, 90), sex=rng.choice(["M", "F"]),
            occupation=None if rng.random() < 0.15 else "学生",
            outcome="died" if rng.random() < 0.05 else "recovered"))
    return rows


def build_world(services, principal_token) -> MonitorWorld:  # type: ignore[no-untyped-def]
    """Committed; codes (319901/319902, tmon*) appear in no other data set. `principal_token(role, region, inst)`."""
    today = today_cst()
    w = MonitorWorld(today=today)
    with services.session_factory() as s:
        s.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                          VALUES ('tmona', '测试病A', 'Test A', '乙', false, 'test'),
                                 ('tmonb', '测试病B', 'Test B', '丙', false, 'test') ON CONFLICT DO NOTHING"""))
        for code, name, pop, (x0, x1) in ((D1, "测试一区", 100000, (100.0, 101.0)), (D2, "测试二区", 50000, (102.0, 103.0))):
            s.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                              label_point, geometry_is_demo) VALUES (:c, :n, 'district', NULL, :c, :p, ST_GeomFromEWKT(:g),
                              ST_PointOnSurface(ST_GeomFromEWKT(:g)), false)"""),
                      {"c": code, "n": name, "p": pop, "g": square(x0, 10.0, x1, 11.0)})
        for i, (code, (x0, x1)) in enumerate(STREETS.items()):
            s.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                              geometry_is_demo) VALUES (:c, :n, 'street', :d, :d, :p, ST_GeomFromEWKT(:g), true)"""),
                      {"c": code, "n": f"测试街道{i + 1}", "d": D1, "p": 40000 + 20000 * i, "g": square(x0, 10.0, x1, 11.0)})
        for i, (code, (x0, x1)) in enumerate(GRIDS.items()):
            parent = "319901001" if x1 <= 100.5 else "319901002"
            s.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                              geometry_is_demo) VALUES (:c, :n, 'grid', :par, :d, :p, ST_GeomFromEWKT(:g), false)"""),
                      {"c": code, "n": f"网格{i}", "par": parent, "d": D1, "p": 20000, "g": square(x0, 10.0, x1, 11.0)})
        for n, (flag, street) in enumerate((("fever_clinic", "319901001"), ("is_lab", "319901002"))):
            flags = {f: f == flag for f in ("fever_clinic", "intestinal_clinic", "is_lab", "vaccination_clinic")}
            iid = s.execute(text("""INSERT INTO institution (code, name, kind, fever_clinic, intestinal_clinic, is_lab,
                                     vaccination_clinic, position_is_demo, sentinel_types, region_code, district_code,
                                     geom) VALUES (:code, :name, 'hospital', :fever_clinic, :intestinal_clinic, :is_lab,
                                     :vaccination_clinic, true, ARRAY['ili'], :r, :d,
                                     ST_SetSRID(ST_MakePoint(:x, 10.5), 4326)) RETURNING id"""),
                            {"code": f"TMON-INST-{n}", "name": f"测试医院{n}", "r": street, "d": D1,
                             "x": 100.2 + 0.5 * n, **flags}).scalar_one()
            w.institution_ids.append(iid)
        rows = _cases(random.Random(5), today, w.institution_ids)
        s.execute(text("""INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date,
                          diagnosis_time, report_time, audit_time, reporting_institution_id, region_code, district_code, geom, age, sex,
                          occupation, outcome)
                          VALUES (:source_id, 1, :disease_code, :case_type, :onset_date, :diagnosis_time, :report_time,
                          :audit_time, :reporting_institution_id, :region_code, :district_code,
                          ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :age, :sex, :occupation, :outcome)"""), rows)
        evidence = {"series": [{"date": (today - timedelta(days=6 - i)).isoformat(), "observed": v, "baseline": 2.0,
                                "threshold": 5.0} for i, v in enumerate([1, 2, 2, 3, 4, 6, 9])]}
        for key, state, geom in (("point", "new", "SRID=4326;POINT(100.3 10.4)"),
                                 ("cluster", "verifying", square(100.6, 10.2, 100.8, 10.4)),
                                 ("closed", "closed", "SRID=4326;POINT(100.7 10.7)")):
            w.signal_ids[key] = s.execute(text("""INSERT INTO signal (dedup_key, origin, model, disease_code, region_code,
                district_code, state, title, observed, threshold, params, evidence, geom, fire_count)
                VALUES (:k, 'model', :m, 'tmona', '319901001', :d, :st, :t, 9, 5, '{"k": 3}', CAST(:ev AS jsonb),
                ST_GeomFromEWKT(:g), 1) RETURNING id"""), {
                "k": f"tmon-{key}", "m": "space_time_permutation" if key == "cluster" else "ears", "d": D1,
                "st": state, "t": f"测试信号 {key}", "ev": json.dumps(evidence), "g": geom}).scalar_one()
        s.commit()
    w.tokens["d1"] = principal_token("district_analyst", D1)[1]
    w.tokens["city"] = principal_token("city_admin", "310000")[1]
    w.tokens["inst"] = principal_token("institution_user", D1, w.institution_ids[0])[1]
    return w
