"""The intake world: two districts with streets, institutions, a team, a site, users; valid case records for it."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import text

from store.accounts import Org
from tests.factories.places import square
from tests.factories.users import org_user_token


@dataclass
class World:
    tag: str
    district_a: str
    district_b: str
    streets_a: list[str]
    street_b: str
    inst_a: str  # institution codes
    inst_a2: str
    inst_b: str
    inst_ids: dict[str, int]
    team_a: str
    site_a: str
    diseases: list[str]
    tokens: dict[str, str] = field(default_factory=dict)  # role label -> bearer token

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}



def build_world(services: Any) -> World:
    """Commit a fresh, uniquely coded world (data committed here persists for the test session)."""
    tag = uuid.uuid4().hex[:6]
    da, db_ = f"97{secrets.randbelow(10**4):04d}", f"98{secrets.randbelow(10**4):04d}"
    w = World(tag=tag, district_a=da, district_b=db_, streets_a=[da + "001", da + "002"], street_b=db_ + "001",
              inst_a=f"HA{tag}", inst_a2=f"HC{tag}", inst_b=f"HB{tag}", inst_ids={}, team_a=f"TA{tag}",
              site_a=f"SA{tag}", diseases=[f"D{tag}A", f"D{tag}B"])
    regions = [
        (da, "A区", "district", None, da, square(121.30, 31.20, 121.40, 31.26)),
        (w.streets_a[0], "A区甲街道", "street", da, da, square(121.30, 31.20, 121.35, 31.26)),
        (w.streets_a[1], "A区乙街道", "street", da, da, square(121.35, 31.20, 121.40, 31.26)),
        (db_, "B区", "district", None, db_, square(121.40, 31.20, 121.50, 31.26)),
        (w.street_b, "B区丙街道", "street", db_, db_, square(121.40, 31.20, 121.50, 31.26)),
    ]
    with services.session_factory() as s:
        for code, name, level, parent, district, wkt in regions:
            s.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                                                  geometry_is_demo, updated_at)
                              VALUES (:c, :n, :l, :p, :d, 100000, ST_GeomFromEWKT(:g), true, now())"""),
                      dict(c=code, n=name, l=level, p=parent, d=district, g=wkt))
        for code in w.diseases:
            s.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                              VALUES (:c, :n, :e, '乙', false, 'respiratory')"""),
                      dict(c=code, n="流行性感冒" if code.endswith("A") else "手足口病", e=code))
        for code, district, street, lon, lat in ((w.inst_a, da, w.streets_a[0], 121.32, 31.22),
                                                 (w.inst_a2, da, w.streets_a[1], 121.37, 31.23),
                                                 (w.inst_b, db_, w.street_b, 121.45, 31.23)):
            w.inst_ids[code] = s.execute(text("""
                INSERT INTO institution (code, name, kind, fever_clinic, intestinal_clinic, sentinel_types, is_lab,
                                         vaccination_clinic, region_code, district_code, geom, position_is_demo)
                VALUES (:c, :c, 'hospital', true, false, ARRAY['ili'], true, false, :r, :d,
                        ST_SetSRID(ST_MakePoint(:x, :y), 4326), true) RETURNING id"""),
                dict(c=code, r=street, d=district, x=lon, y=lat)).scalar_one()
        team_id = s.execute(text("""
            INSERT INTO team (code, name, type, status, members, video_online, institution_id, district_code, updated_at)
            VALUES (:c, '流调一队', 'epi', 'standby', 4, false, :i, :d, now()) RETURNING id"""),
            dict(c=w.team_a, i=w.inst_ids[w.inst_a], d=da)).scalar_one()
        assert team_id
        site_id = s.execute(text("""
            INSERT INTO resource_site (code, name, kind, institution_id, district_code, geom, position_is_demo)
            VALUES (:c, '物资库', 'warehouse', :i, :d, ST_SetSRID(ST_MakePoint(121.33, 31.21), 4326), true)
            RETURNING id"""), dict(c=w.site_a, i=w.inst_ids[w.inst_a], d=da)).scalar_one()
        s.execute(text("""INSERT INTO stock (site_id, item_code, item_name, category, unit, quantity, min_level,
                                             updated_at)
                          VALUES (:s, 'MASK', '医用防护口罩', 'ppe', '只', 100, 20, now())"""), dict(s=site_id))
        orgs = {
            "city": ("city", "310000", None), "district_a": ("district", da, None),
            "district_b": ("district", db_, None), "inst_a": ("institution", da, w.inst_ids[w.inst_a]),
        }
        roles = {"city": "city_admin", "district_a": "district_commander", "district_b": "district_analyst",
                 "inst_a": "institution_user"}
        for label, (level, region, inst) in orgs.items():
            org = Org(code=f"O{tag}{label}", name=label, level=level, region_code=region, institution_id=inst)
            w.tokens[label] = org_user_token(s, org, username=f"u{tag}{label}", role=roles[label])
        s.commit()
    return w



def now_cst() -> datetime:
    return datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0)


def case(w: World, rid: str, **over: Any) -> dict[str, Any]:
    """A valid case report of institution A, reported a few hours ago, at a point in street A1."""
    t = now_cst() - timedelta(hours=3)
    rec = {"institution_code": w.inst_a, "record_id": rid, "disease_code": w.diseases[0],
           "onset_date": (t - timedelta(days=2)).date().isoformat(), "diagnosis_time": (t - timedelta(hours=2)).isoformat(),
           "report_time": t.isoformat(), "lon": 121.32, "lat": 31.23, "age": 34, "sex": "F",
           "patient": {"name": "张小明", "id_number": "11010519491231002X", "phone": "13812345678",
                       "address": "上海市长宁区某路1号"}}
    rec.update(over)
    return rec
