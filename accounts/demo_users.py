"""Demo organisations and users (one per role in Changning, plus a Xuhui analyst for scope tests).

Private SM2 keys go to `keys_dir` (var/keys/, gitignored) as `<username>.key` (hex) and `.pem`;
the kiosk's device token goes to `cn_wall.token`. Idempotent: existing users are left alone.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import CITY_CODE
from accounts.tokens import create_token
from accounts.users import create_user, ensure_org
from security.sm2 import generate_keypair, private_key_to_pem
from store.accounts import ApiClient, AppUser, Org
from store.places import Institution

DEMO_PASSWORD = "OneMap@2026"
CITY_API_KEY_ID = "city-platform"
DISTRICT_NAMES = {"310104": "徐汇区", "310105": "长宁区"}
OTHER_DISTRICT = "310104"


@dataclass(frozen=True)
class DemoUser:
    """A demo account as listed in docs/security.md."""

    username: str
    role: str
    org_code: str
    password: str
    key_file: Path
    created: bool


def _spec(district: str) -> list[tuple[str, str, str, str, bool]]:
    """(username, display name, role, org kind, may_view_pii)."""
    prefix = "cn" if district == "310105" else f"d{district}"
    return [
        ("city_admin", "市级管理员", "city_admin", "city", True),
        (f"{prefix}_commander", "区应急指挥长", "district_commander", "district", False),
        (f"{prefix}_analyst", "区疾控分析员", "district_analyst", "district", True),
        (f"{prefix}_hospital", "医疗机构填报员", "institution_user", "institution", False),
        (f"{prefix}_wall", "指挥中心大屏", "wall_kiosk", "district", False),
        ("city_platform", "市级平台接口", "city_api", "city", False),
        ("xh_analyst", "徐汇区疾控分析员", "district_analyst", "other", True),
    ]


def _institution(session: Session, district: str) -> Institution:
    inst = session.scalar(select(Institution).where(Institution.district_code == district)
                          .order_by(Institution.kind != "chc", Institution.code).limit(1))
    if inst is None:  # the seed normally creates institutions first
        inst = Institution(code=f"DEMO-{district}-CHC", name=f"{DISTRICT_NAMES.get(district, district)}演示社区卫生服务中心",
                           kind="chc", district_code=district, source="demo_users placeholder")
        session.add(inst)
        session.flush()
    return inst


def _write_key(keys_dir: Path, username: str) -> str:
    """Write a fresh private key (0600) and return the public key."""
    private_hex, public_hex = generate_keypair()
    keys_dir.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".key", private_hex + "\n"), (".pem", private_key_to_pem(private_hex))):
        path = keys_dir / f"{username}{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    (keys_dir / f"{username}.pub").write_text(public_hex + "\n")
    return public_hex


def create_demo_users(session: Session, *, district_code: str = "310105", keys_dir: Path) -> list[DemoUser]:
    """Create the org tree and one user per role; re-running creates nothing new."""
    city = ensure_org(session, code=CITY_CODE, name="上海市疾病预防控制中心", level="city", region_code=CITY_CODE)
    orgs = {"city": city}
    for code in {district_code, OTHER_DISTRICT}:
        orgs[code] = ensure_org(session, code=code, name=f"{DISTRICT_NAMES.get(code, code)}疾病预防控制中心",
                                level="district", region_code=code, parent=city)
    inst = _institution(session, district_code)
    orgs["institution"] = ensure_org(session, code=f"inst-{inst.code}", name=inst.name, level="institution",
                                     region_code=district_code, parent=orgs[district_code], institution_id=inst.id)
    orgs["district"], orgs["other"] = orgs[district_code], orgs[OTHER_DISTRICT]
    out = []
    for username, display, role, org_kind, pii in _spec(district_code):
        org: Org = orgs[org_kind]
        existing = session.scalar(select(AppUser).where(AppUser.username == username))
        if existing is None:
            public_hex = _write_key(keys_dir, username)
            user = create_user(session, username=username, display_name=display, org=org, role=role,
                               password=DEMO_PASSWORD, sm2_public_key=public_hex, may_view_pii=pii)
            if role == "wall_kiosk":
                _, clear = create_token(session, user_id=user.id, name="演示大屏设备", kind="device")
                (keys_dir / f"{username}.token").write_text(clear + "\n")
            if role == "city_api":
                session.add(ApiClient(key_id=CITY_API_KEY_ID, name="上海市级平台", user_id=user.id,
                                      sm2_public_key=public_hex, is_active=True))
                session.flush()
        out.append(DemoUser(username, role, org.code, DEMO_PASSWORD, keys_dir / f"{username}.key", existing is None))
    return out
