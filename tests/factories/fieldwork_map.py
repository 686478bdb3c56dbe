"""A small 流调 world for the map layers of issue 20: one district far from every other test's, two streets,
cases, an investigation with exposure places and contacts, all in a rolled-back `db` session.

District 319961 is the square [110, 111] × [20, 21]; street 319961001 its west half, 319961002 its east half.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.srid import SRID
from store.fieldwork import Contact, ExposurePlace, Investigation
from tests.factories.places import square

DISTRICT, WEST, EAST = "319961", "319961001", "319961002"
OTHER = "319962"  # a second district: [112, 113] × [20, 21]
HERE = (110.2, 20.3)  # a point in the west street
FAR = (110.8, 20.7)  # a point in the east street, kilometres away


def principal(role: str = "district_analyst", region: str = DISTRICT, pii: bool = True,
              institution_id: int | None = None) -> Principal:
    return Principal(user_id=1, username=f"t-{role}", role=role, org_id=1, region_code=region,
                     institution_id=institution_id, may_view_pii=pii)


def regions(db: Session) -> None:
    rows = [(DISTRICT, "流调测试区", "district", None, square(110, 20, 111, 21)),
            (WEST, "西街道", "street", DISTRICT, square(110, 20, 110.5, 21)),
            (EAST, "东街道", "street", DISTRICT, square(110.5, 20, 111, 21)),
            (OTHER, "邻区", "district", None, square(112, 20, 113, 21))]
    for code, name, level, parent, geom in rows:
        db.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                           label_point, geometry_is_demo) VALUES (:c, :n, :l, :p, :d, 1000, ST_GeomFromEWKT(:g),
                           ST_PointOnSurface(ST_GeomFromEWKT(:g)), true)"""),
                   {"c": code, "n": name, "l": level, "p": parent, "d": code[:6], "g": geom})
    db.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                       VALUES ('tfw', '流调测试病', 'fieldwork test', '乙', false, 'test') ON CONFLICT DO NOTHING"""))


def case(db: Session, at: tuple[float, float], onset: date, district: str = DISTRICT, street: str = WEST) -> int:
    """A confirmed case report at `at` with its onset day."""
    t = datetime.combine(onset, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    return int(db.execute(text("""
        INSERT INTO case_report (source_id, source_version, disease_code, case_type, onset_date, diagnosis_time,
            report_time, audit_time, region_code, district_code, geom, age, sex, outcome)
        VALUES (:s, 1, 'tfw', 'confirmed', :onset, :t, :t, :t, :r, :d, ST_SetSRID(ST_MakePoint(:x, :y), 4326),
                30, 'F', 'recovered') RETURNING id"""),
        {"s": f"tfw:{uuid.uuid4().hex[:10]}", "onset": onset, "t": t, "r": street, "d": district,
         "x": at[0], "y": at[1]}).scalar_one())


def investigation(db: Session, case_id: int, district: str = DISTRICT) -> Investigation:
    inv = Investigation(case_id=case_id, district_code=district, investigator="张三", status="in_progress",
                        started_at=datetime(2026, 1, 11, 2, tzinfo=UTC))
    db.add(inv)
    db.flush()
    return inv


def place(db: Session, inv: Investigation, at: tuple[float, float], start: datetime, hours: int = 6,
          name: str = "某超市", kind: str = "public") -> ExposurePlace:
    row = ExposurePlace(investigation_id=inv.id, name=name, kind=kind, geom=from_shape(Point(*at), srid=SRID),
                        start_time=start, end_time=start + timedelta(hours=hours))
    db.add(row)
    db.flush()
    return row


def contact(db: Session, inv: Investigation, at: tuple[float, float] | None, last_exposure: date,
            street: str | None = WEST, state: str = "pending", n: int | None = None) -> Contact:
    traced = None if state == "pending" else datetime(2026, 1, 12, tzinfo=UTC)
    row = Contact(investigation_id=inv.id, record_id=f"M{n if n is not None else uuid.uuid4().hex[:8]}",
                  degree="close", name_enc=b"\x01secret", last_exposure_date=last_exposure, state=state,
                  listed_at=datetime(2026, 1, 11, tzinfo=UTC), traced_at=traced, region_code=street,
                  geom=None if at is None else from_shape(Point(*at), srid=SRID))
    db.add(row)
    db.flush()
    return row


def planted(db: Session, *, contact_shift: int = 0, place_at: tuple[float, float] = HERE) -> dict[str, Any]:
    """Three cases, one exposure place and four contacts in one H3 cell within three days of Jan 10, 2026.

    `contact_shift` moves the contacts' last exposure by that many days; `place_at` moves the place.
    """
    regions(db)
    near = [(HERE[0] + d, HERE[1] + d) for d in (0.0, 0.0003, -0.0003)]  # within ~50 m
    cases = [case(db, p, date(2026, 1, 10 + i)) for i, p in enumerate(near)]
    inv = investigation(db, cases[0])
    shop = place(db, inv, place_at, datetime(2026, 1, 9, 2, tzinfo=UTC))
    contacts = [contact(db, inv, near[i % 3], date(2026, 1, 9) + timedelta(days=contact_shift), n=i)
                for i in range(4)]
    return {"cases": cases, "investigation": inv, "place": shop, "contacts": contacts}
