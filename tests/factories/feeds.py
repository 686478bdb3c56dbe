"""A small world for the feed tests: one district with two streets (uniquely coded), aliases, a disease, users."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from store.accounts import Org
from tests.factories.places import square
from tests.factories.users import org_user_token


@dataclass
class FeedWorld:
    tag: str
    district: str
    other_district: str
    streets: list[str]
    street_names: list[str]
    aliases: list[str]
    disease: str
    disease_name: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def build_world(services: Any) -> FeedWorld:
    tag = uuid.uuid4().hex[:6]
    d, other = f"96{secrets.randbelow(10**4):04d}", f"95{secrets.randbelow(10**4):04d}"
    w = FeedWorld(tag=tag, district=d, other_district=other, streets=[d + "001", d + "002"],
                  street_names=[f"东{tag}街道", f"西{tag}街道"], aliases=[f"东{tag}", f"西{tag}"],
                  disease=f"F{tag}", disease_name=f"测试病{tag}")
    regions = [(d, f"测{tag}区", "district", None, d, square(119.10, 31.00, 119.20, 31.06)),
               (w.streets[0], w.street_names[0], "street", d, d, square(119.10, 31.00, 119.15, 31.06)),
               (w.streets[1], w.street_names[1], "street", d, d, square(119.15, 31.00, 119.20, 31.06)),
               (other, f"他{tag}区", "district", None, other, square(119.20, 31.00, 119.30, 31.06))]
    with services.session_factory() as s:
        for code, name, level, parent, district, wkt in regions:
            s.execute(text("""INSERT INTO region (code, name, level, parent_code, district_code, population, geom,
                                                  label_point, geometry_is_demo, updated_at)
                              VALUES (:c, :n, :l, :p, :d, 100000, ST_GeomFromEWKT(:g),
                                      ST_PointOnSurface(ST_GeomFromEWKT(:g)), true, now())"""),
                      dict(c=code, n=name, l=level, p=parent, d=district, g=wkt))
        for alias, code in zip(w.aliases, w.streets, strict=True):
            s.execute(text("INSERT INTO region_alias (alias, region_code) VALUES (:a, :c)"), dict(a=alias, c=code))
        s.execute(text("""INSERT INTO disease (code, name, name_en, klass, single_case, category)
                          VALUES (:c, :n, :c, '丙', false, 'intestinal')"""), dict(c=w.disease, n=w.disease_name))
        for label, role, region in (("district", "district_analyst", d), ("other", "district_analyst", other),
                                    ("city", "city_admin", "310000")):
            org = Org(code=f"F{tag}{label}", name=label, level="city" if label == "city" else "district",
                      region_code=region)
            w.tokens[label] = org_user_token(s, org, username=f"f{tag}{label}", role=role)
        s.commit()
    return w
