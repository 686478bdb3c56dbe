"""The dispatch world: an org tree with one user per role, tokens, institutions, a team, the city's SM2 client."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from accounts.principal import CITY_CODE, Principal
from accounts.tokens import create_token, principal_for_user
from accounts.users import create_user, ensure_org
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from store.places import Institution
from store.response import Team

DISTRICT = "310105"
OTHER = "310104"


@dataclass
class World:
    """Everything a dispatch test needs; ids and clear tokens by short name."""

    tag: str
    city_key_id: str
    city_private: str
    district_private: str
    district_public: str
    tokens: dict[str, str] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    institutions: list[int] = field(default_factory=list)
    other_institution: int = 0
    team: int = 0

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _user(db: Any, name: str, org: Any, role: str, tag: str) -> tuple[Principal, str]:
    user = create_user(db, username=f"{name}_{tag}", display_name=name, org=org, role=role, password=None)
    _, clear = create_token(db, user_id=user.id, name="test")
    return principal_for_user(db, user), clear


def build_world(services: Any) -> World:
    """Commit a fresh, uniquely tagged dispatch world."""
    tag = uuid.uuid4().hex[:8]
    city_private, city_public = generate_keypair()
    district_private, district_public = generate_keypair()
    w = World(tag=tag, city_key_id=f"city-{tag}", city_private=city_private, district_private=district_private,
              district_public=district_public)
    with services.session_factory() as db, db.begin():
        city = ensure_org(db, code=f"city-{tag}", name="市疾控", level="city", region_code=CITY_CODE)
        district = ensure_org(db, code=f"d-{tag}", name="长宁区疾控", level="district", region_code=DISTRICT,
                              parent=city)
        other = ensure_org(db, code=f"o-{tag}", name="徐汇区疾控", level="district", region_code=OTHER, parent=city)
        insts = []
        for i, (_lon, _lat) in enumerate([(121.42, 31.22), (121.40, 31.21), (121.39, 31.23)]):
            inst = Institution(code=f"I-{tag}-{i}", name=f"测试社区卫生服务中心{i}", kind="chc", district_code=DISTRICT)
            db.add(inst)
            insts.append(inst)
        far = Institution(code=f"I-{tag}-x", name="徐汇测试医院", kind="hospital", district_code=OTHER)
        db.add(far)
        db.flush()
        team = Team(code=f"T-{tag}", name="长宁区流调一队", type="epi", district_code=DISTRICT,
                    institution_id=insts[2].id, members=6)
        db.add(team)
        db.flush()
        w.institutions, w.other_institution, w.team = [i.id for i in insts], far.id, team.id
        for name, org, role in [("commander", district, "district_commander"),
                                ("analyst", district, "district_analyst"),
                                ("other_commander", other, "district_commander"),
                                ("city_admin", city, "city_admin")]:
            w.principals[name], w.tokens[name] = _user(db, name, org, role, tag)
        for i, inst in enumerate(insts):
            org = ensure_org(db, code=f"inst-{tag}-{i}", name=inst.name, level="institution", region_code=DISTRICT,
                             parent=district, institution_id=inst.id)
            w.principals[f"inst{i}"], w.tokens[f"inst{i}"] = _user(db, f"inst{i}", org, "institution_user", tag)
        api_user = create_user(db, username=f"cityapi_{tag}", display_name="市级平台", org=city, role="city_api",
                               password=None)
        db.add(ApiClient(key_id=w.city_key_id, name="市级平台", user_id=api_user.id, sm2_public_key=city_public))
        w.principals["city_api"] = principal_for_user(db, api_user)
    return w

