"""The scope world: two districts (A 310105, B 310104) with records of every kind, a user per role in each."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from accounts.pii_view import Identity, set_identity
from security.sm2 import generate_keypair
from store.accounts import AppUser
from store.cases import CaseReport, Disease, SyndromicCount
from store.dispatch import Task
from store.places import Institution
from store.response import Incident, ResourceSite, Team
from store.signals import Signal
from tests.factories.users import make_user

A, B = "310105", "310104"


@dataclass
class District:
    code: str
    marker: str  # appears in every name/code created for this district, and nowhere else
    institution_id: int = 0
    other_institution_id: int = 0
    ids: dict[str, list[int]] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)


@dataclass
class World:
    a: District
    b: District
    users: dict[str, tuple[AppUser, str]]  # "<role>@<A|B>" → (user, bearer token)
    keys: dict[str, str]  # username → SM2 private key hex


def _district(db: Any, cipher: Any, code: str, marker: str) -> District:
    d = District(code, marker)
    insts = [Institution(code=f"{marker}-INST{i}", name=f"{marker} 医院{i}", kind="hospital", district_code=code)
             for i in (1, 2)]
    db.add_all(insts)
    db.flush()
    d.institution_id, d.other_institution_id = insts[0].id, insts[1].id
    now = datetime.now(UTC)
    cases = []
    for i, inst in enumerate(insts * 2):
        case = CaseReport(source_id=f"{inst.code}:{marker}-C{i}", disease_code="SCOPE-D", onset_date=date.today(),
                          diagnosis_time=now, report_time=now, reporting_institution_id=inst.id, district_code=code)
        ident = Identity(name=f"测试{marker[-4:]}{i}", id_number=f"{code}19900101{i:03d}X", phone=f"1380000{i:04d}",
                         address=f"上海市{marker}路{i}号")
        set_identity(case, cipher, ident)
        d.identities.append(ident)
        cases.append(case)
    signal = Signal(dedup_key=f"{marker}-S", origin="model", model="ears", district_code=code,
                    title=f"{marker} 信号", state="new")
    team = Team(code=f"{marker}-TEAM", name=f"{marker} 队伍", type="epi", district_code=code,
                institution_id=insts[0].id)
    site = ResourceSite(code=f"{marker}-SITE", name=f"{marker} 仓库", kind="warehouse", district_code=code)
    incident = Incident(title=f"{marker} 事件", kind="outbreak", district_code=code)
    syn = SyndromicCount(source_id=f"{insts[0].code}:{marker}-SY", institution_id=insts[0].id, district_code=code,
                         day=date.today() - timedelta(days=1), syndrome="fever", visits=10, cases=2)
    db.add_all([*cases, signal, team, site, incident, syn])
    db.flush()
    task = Task(title=f"{marker} 任务", type="investigate", deadline=now + timedelta(days=1), district_code=code,
                assignee_institution_id=insts[0].id, signal_id=signal.id, incident_id=incident.id)
    db.add(task)
    db.flush()
    d.ids = {"case": [c.id for c in cases], "signal": [signal.id], "team": [team.id], "site": [site.id],
             "incident": [incident.id], "task": [task.id], "institution": [i.id for i in insts],
             "syndromic": [syn.id]}
    return d


def build_world(services) -> World:  # type: ignore[no-untyped-def]
    """Committed records in districts A (310105) and B (310104) and a user per role in each."""
    tag = uuid.uuid4().hex[:6].upper()
    with services.session_factory() as db:
        if db.get(Disease, "SCOPE-D") is None:
            db.add(Disease(code="SCOPE-D", name="测试病", name_en="test disease", klass="乙", category="test"))
            db.flush()
        a = _district(db, services.cipher, A, f"ZZA{tag}")
        b = _district(db, services.cipher, B, f"ZZB{tag}")
        db.commit()
    users: dict[str, tuple[AppUser, str]] = {}
    keys: dict[str, str] = {}
    for d, label in ((a, "A"), (b, "B")):
        for role in ("district_commander", "district_analyst", "wall_kiosk", "institution_user"):
            priv, pub = generate_keypair()
            user, token = make_user(services, role, d.code, d.institution_id if role == "institution_user" else None,
                                    may_view_pii=role == "district_analyst", sm2_public_key=pub)
            users[f"{role}@{label}"] = (user, token)
            keys[user.username] = priv
    priv, pub = generate_keypair()
    users["city_admin"] = make_user(services, "city_admin", "310000", may_view_pii=True, sm2_public_key=pub)
    keys[users["city_admin"][0].username] = priv
    return World(a, b, users, keys)


def fresh_user(services, username: str) -> AppUser:  # type: ignore[no-untyped-def]
    with services.session_factory() as db:
        return db.scalar(select(AppUser).where(AppUser.username == username))
