"""Two small districts with a record behind every map layer, for the layer scope and precision tests.

Every name, title and disease code of district X contains X's marker and nothing of Y's; records of a
district's second institution also carry `<marker>I2`, which that district's institution user (of the
first institution) must never see. Dates are fixed in January 2026: requests pass since/until.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from security.sm2 import generate_keypair
from tests.factories.places import point, square
from tests.factories.users import make_user

SINCE, UNTIL = date(2026, 1, 1), date(2026, 1, 31)
PERIOD = f"since={SINCE}&until={UNTIL}"
ROLES = ("district_commander", "district_analyst", "institution_user", "wall_kiosk")


@dataclass
class LayerDistrict:
    code: str
    marker: str
    x0: float  # west edge; the district is the square [x0, x0 + 1] × [10, 11]
    street: str = ""
    grid: str = ""
    h3: str = ""
    inst: list[int] = field(default_factory=list)
    case_points: dict[int, tuple[float, float]] = field(default_factory=dict)  # case id → recorded lon, lat

    @property
    def bbox(self) -> str:
        return f"{self.x0},10,{self.x0 + 1},11"


@dataclass
class LayerWorld:
    x: LayerDistrict
    y: LayerDistrict
    users: dict[str, tuple[Any, str]]  # "<role>@<X|Y>", "city_admin", "city_api" → (user, bearer token)




def _regions(db: Any, d: LayerDistrict) -> None:
    m, x0 = d.marker, d.x0
    d.street, d.grid, d.h3 = d.code + "001", d.code + "001001", "h3:8f" + f"{int(d.code):013x}"
    rows = [(d.code, f"{m}区", "district", None, 300000, square(x0, 10.0, x0 + 1, 11.0)),
            (d.street, f"{m}街道", "street", d.code, 200000, square(x0, 10.0, x0 + 0.5, 11.0)),
            (d.grid, f"{m}网格", "grid", d.street, 100000, square(x0, 10.0, x0 + 0.25, 11.0)),
            (d.h3, f"{m}蜂窝", "grid", d.street, 100000, square(x0 + 0.25, 10.0, x0 + 0.5, 11.0))]
    for code, name, level, parent, pop, geom in rows:
        db.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                           label_point, geometry_is_demo) VALUES (:c, :n, :l, :p, :d, :pop, ST_GeomFromEWKT(:g),
                           ST_PointOnSurface(ST_GeomFromEWKT(:g)), true)"""),
                   {"c": code, "n": name, "l": level, "p": parent, "d": d.code, "pop": pop, "g": geom})


def _institutions(db: Any, d: LayerDistrict) -> None:
    for n in (1, 2):
        tag = d.marker if n == 1 else d.marker + "I2"
        d.inst.append(db.execute(text("""
            INSERT INTO institution (code, name, kind, fever_clinic, intestinal_clinic, is_lab, vaccination_clinic,
                position_is_demo, sentinel_types, region_code, district_code, geom)
            VALUES (:code, :name, 'hospital', true, true, true, true, true, ARRAY['ili'], :r, :d,
                    ST_GeomFromEWKT(:g)) RETURNING id"""),
            {"code": f"{tag}-INST", "name": f"{tag} 医院", "r": d.street, "d": d.code,
             "g": point(d.x0 + 0.1 * n, 10.2)}).scalar_one())
        db.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                           VALUES (:c, :n, 'scope test', '乙', false, 'test')"""), {"c": tag, "n": f"{tag}病"})


def _cases(db: Any, d: LayerDistrict) -> None:
    now = datetime(2026, 1, 20, 8, tzinfo=UTC)
    for n, inst in enumerate(d.inst * 3):
        tag = d.marker if inst == d.inst[0] else d.marker + "I2"
        lon, lat = d.x0 + 0.0123457 + 0.0311 * n, 10.0234561 + 0.0277 * n  # inside the 12-digit grid cell
        cid = db.execute(text("""
            INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
                report_time, audit_time, reporting_institution_id, region_code, district_code, geom, age, sex, outcome)
            VALUES (:s, 1, :dis, 'confirmed', :onset, :t, :t, :t, :inst, :r, :d,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 30, 'F', 'recovered') RETURNING id"""),
            {"s": f"{tag}:C{n}", "dis": tag, "onset": date(2026, 1, 10 + n), "t": now, "inst": inst,
             "r": d.street, "d": d.code, "lon": lon, "lat": lat}).scalar_one()
        d.case_points[cid] = (round(lon, 6), round(lat, 6))


def _signals(db: Any, d: LayerDistrict) -> None:
    fired = datetime(2026, 1, 15, 2, tzinfo=UTC)
    for key, state, geom, inst in (("信号", "new", point(d.x0 + 0.2, 10.3), d.inst[0]),
                                   ("聚集", "verifying", square(d.x0 + 0.1, 10.1, d.x0 + 0.2, 10.2), d.inst[0]),
                                   ("确认", "confirmed", point(d.x0 + 0.3, 10.3), d.inst[0]),
                                   ("I2信号", "new", point(d.x0 + 0.4, 10.3), d.inst[1])):
        title = f"{d.marker}{key}" if inst == d.inst[0] else f"{d.marker}I2 信号"
        sid = db.execute(text("""
            INSERT INTO signal (dedup_key, origin, model, disease_code, region_code, district_code, state, title,
                observed, threshold, evidence, params, geom, fire_count, first_fired_at, last_fired_at)
            VALUES (:k, 'model', 'ears', :dis, :r, :d, :st, :t, 9, 5, '{}'::jsonb, '{}'::jsonb, ST_GeomFromEWKT(:g), 1, :f,
                    :f)
            RETURNING id"""), {"k": f"{d.marker}-{key}", "dis": d.marker, "r": d.street, "d": d.code, "st": state,
                               "t": title, "g": geom, "f": fired}).scalar_one()
        db.execute(text("INSERT INTO signal_receipt (signal_id, institution_id) VALUES (:s, :i)"),
                   {"s": sid, "i": inst})


def _response(db: Any, d: LayerDistrict) -> None:
    m = d.marker
    for n, inst in enumerate(d.inst):
        tag = m if n == 0 else m + "I2"
        db.execute(text("""INSERT INTO team (code, name, type, status, members, video_online, institution_id,
                           district_code, geom, position_time) VALUES (:c, :n, 'epi', 'standby', 3, false, :i, :d,
                           ST_GeomFromEWKT(:g), now())"""),
                   {"c": f"{tag}-TEAM", "n": f"{tag} 队伍", "i": inst, "d": d.code, "g": point(d.x0 + 0.15, 10.4)})
        site = db.execute(text("""INSERT INTO resource_site (code, name, kind, institution_id, district_code, geom,
                                  position_is_demo) VALUES (:c, :n, 'warehouse', :i, :d, ST_GeomFromEWKT(:g), true) RETURNING id"""),
                          {"c": f"{tag}-SITE", "n": f"{tag} 仓库", "i": inst, "d": d.code,
                           "g": point(d.x0 + 0.16, 10.4)}).scalar_one()
        db.execute(text("""INSERT INTO stock (site_id, item_code, item_name, category, unit, quantity, min_level)
                           VALUES (:s, :c, :n, 'ppe', '个', 10, 5)"""), {"s": site, "c": f"{tag}-ITEM", "n": f"{tag} 口罩"})
        db.execute(text("""INSERT INTO task (title, type, priority, state, progress, deadline, district_code,
                           assignee_institution_id, location, escalation_level, attachments, counts)
                           VALUES (:t, 'epi', 2, 'issued', 0, :dl, :d, :i, ST_GeomFromEWKT(:g), 0, '[]', '{}')"""),
                   {"t": f"{tag} 任务", "dl": datetime(2026, 2, 1, tzinfo=UTC), "d": d.code, "i": inst,
                    "g": point(d.x0 + 0.17, 10.4)})
    db.execute(text("""INSERT INTO incident (title, kind, status, district_code, geom)
                       VALUES (:t, 'outbreak', 'open', :d, ST_GeomFromEWKT(:g))"""),
               {"t": f"{m} 事件", "d": d.code, "g": point(d.x0 + 0.18, 10.4)})
    db.execute(text("""INSERT INTO assist_request (request_no, direction, from_district, to_district, subject_kind,
                       reason, facts, place_name, place, deadline, state, attachments, escalation_level)
                       VALUES (:no, 'in', '310104', :d, 'place', '协查', '["核实"]', :p, ST_GeomFromEWKT(:g), :dl,
                       'received', '[]', 0)"""),
               {"no": f"XC-{m}", "d": d.code, "p": f"{m} 协查地点", "g": point(d.x0 + 0.19, 10.4),
                "dl": datetime(2026, 2, 1, tzinfo=UTC)})


def _feeds(db: Any, d: LayerDistrict) -> None:
    m, g = d.marker, point(d.x0 + 0.05, 10.05)
    school = db.execute(text("""INSERT INTO school (code, name, kind, region_code, district_code, geom, position_is_demo)
                                VALUES (:c, :n, 'primary', :r, :d, ST_GeomFromEWKT(:g), true) RETURNING id"""),
                        {"c": f"{m}-SCH", "n": f"{m} 学校", "r": d.street, "d": d.code, "g": g}).scalar_one()
    pharmacy = db.execute(text("""INSERT INTO pharmacy (code, name, region_code, district_code, geom, position_is_demo)
                                  VALUES (:c, :n, :r, :d, ST_GeomFromEWKT(:g), true) RETURNING id"""),
                          {"c": f"{m}-PH", "n": f"{m} 药店", "r": d.street, "d": d.code, "g": g}).scalar_one()
    for i in range(40):
        day = date(2025, 12, 20) + timedelta(days=i)
        db.execute(text("""INSERT INTO school_absence (source_id, school_id, district_code, day, enrolled, absent,
                           absent_ill, fever, respiratory, gastrointestinal, rash)
                           VALUES (:s, :sc, :d, :day, 100, 5, 3, 1, 1, 0, 0)"""),
                   {"s": f"{m}-A{i}", "sc": school, "d": d.code, "day": day})
        db.execute(text("""INSERT INTO drug_sales (source_id, pharmacy_id, region_code, district_code, day,
                           drug_group, units) VALUES (:s, :p, :r, :d, :day, 'antipyretic', :u)"""),
                   {"s": f"{m}-S{i}", "p": pharmacy, "r": d.street, "d": d.code, "day": day, "u": 10 + i})
        db.execute(text("""INSERT INTO weather_daily (source_id, district_code, day, temp_mean)
                           VALUES (:s, :d, :day, 5.5)"""), {"s": f"{m}-W{i}", "d": d.code, "day": day})
    db.execute(text("""INSERT INTO opinion_item (source_id, published_at, source, title, keywords, place_text,
                       region_code, district_code, geom) VALUES (:s, :t, 'weibo', :ti, ARRAY['发热'], :p, :r, :d,
                       ST_GeomFromEWKT(:g))"""),
               {"s": f"{m}-O", "t": datetime(2026, 1, 12, tzinfo=UTC), "ti": f"{m} 舆情", "p": f"{m}街道",
                "r": d.street, "d": d.code, "g": g})


def _fieldwork(db: Any, d: LayerDistrict) -> None:
    """A 流调 of the district's first case: an exposure place and two contacts where the case is (a hotspot)."""
    case_id, (lon, lat) = next(iter(d.case_points.items()))
    inv = db.execute(text("""INSERT INTO investigation (case_id, district_code, investigator, status, started_at)
                             VALUES (:c, :d, '流调员', 'in_progress', :t) RETURNING id"""),
                     {"c": case_id, "d": d.code, "t": datetime(2026, 1, 11, 2, tzinfo=UTC)}).scalar_one()
    db.execute(text("""INSERT INTO exposure_place (investigation_id, name, kind, geom, start_time, end_time)
                       VALUES (:i, :n, 'public', ST_GeomFromEWKT(:g), :s, :e)"""),
               {"i": inv, "n": f"{d.marker} 暴露场所", "g": point(lon, lat), "s": datetime(2026, 1, 9, 2, tzinfo=UTC),
                "e": datetime(2026, 1, 9, 8, tzinfo=UTC)})
    for n in range(2):
        db.execute(text("""INSERT INTO contact (investigation_id, record_id, degree, last_exposure_date, state,
                           listed_at, region_code, geom) VALUES (:i, :r, 'close', :day, 'pending', :t, :s,
                           ST_GeomFromEWKT(:g))"""),
                   {"i": inv, "r": f"{d.marker}-M{n}", "day": date(2026, 1, 9), "t": datetime(2026, 1, 11, tzinfo=UTC),
                    "s": d.street, "g": point(lon, lat)})


def build_layer_world(services: Any) -> LayerWorld:
    """Commit districts X and Y (fresh codes and markers) and a user of every role in each."""
    tag = uuid.uuid4().hex[:6].upper()
    base = 318000 + int(tag, 16) % 900 * 2
    x = LayerDistrict(str(base), f"ZLX{tag}", 100.0)
    y = LayerDistrict(str(base + 1), f"ZLY{tag}", 102.0)
    with services.session_factory() as db:
        for d in (x, y):
            _regions(db, d)
            _institutions(db, d)
            _cases(db, d)
            _signals(db, d)
            _response(db, d)
            _feeds(db, d)
            _fieldwork(db, d)
        db.commit()
    users: dict[str, tuple[Any, str]] = {}
    for d, label in ((x, "X"), (y, "Y")):
        for role in ROLES:
            _, pub = generate_keypair()
            users[f"{role}@{label}"] = make_user(services, role, d.code, d.inst[0] if role == "institution_user"
                                                 else None, may_view_pii=role == "district_analyst",
                                                 sm2_public_key=pub)
        users[f"masked_analyst@{label}"] = make_user(services, "district_analyst", d.code, may_view_pii=False)
    users["city_admin"] = make_user(services, "city_admin", "310000", may_view_pii=True)
    users["city_api"] = make_user(services, "city_api", "310000")
    return LayerWorld(x, y, users)
