"""Users of any role with a bearer token, organisations for them, and a logged-in browser session."""
from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select

from accounts.principal import CITY_CODE
from accounts.sessions import SessionStore
from accounts.tokens import create_token, principal_for_user
from accounts.users import create_user, ensure_org
from config.runtime import Services
from store.accounts import AppUser, Org
from store.places import Institution

TEST_PASSWORD = "Test#Passw0rd"


def ensure_test_org(db: Any, *, role: str, region_code: str, institution_id: int | None) -> Org:
    """City, district or institution org for `role`, created under the right parent."""
    city = ensure_org(db, code=CITY_CODE, name="上海市", level="city", region_code=CITY_CODE)
    if role in ("city_admin", "city_api"):
        return city
    district = region_code[:6]
    dorg = ensure_org(db, code=district, name=f"{district} 区", level="district", region_code=district, parent=city)
    if role != "institution_user":
        return dorg
    if institution_id is None:
        raise ValueError("institution_user needs institution_id")
    inst = db.get(Institution, institution_id)
    return ensure_org(db, code=f"inst-{inst.code}", name=inst.name, level="institution",
                      region_code=inst.district_code, parent=dorg, institution_id=inst.id)


def org_user_token(db: Any, org: Org, *, username: str, role: str) -> str:
    """Add `org` and one user of `role` in it (flushed, not committed); a bearer token for that user."""
    db.add(org)
    db.flush()
    user = AppUser(username=username, display_name=org.name, org_id=org.id, role=role)
    db.add(user)
    db.flush()
    return create_token(db, user_id=user.id, name="test")[1]


def make_user(services: Services, role: str, region_code: str = "310105", institution_id: int | None = None, *,
              may_view_pii: bool = False, sm2_public_key: str | None = None,
              password: str | None = TEST_PASSWORD) -> tuple[AppUser, str]:
    """A committed user of `role` in `region_code` and a personal bearer token for it."""
    with services.session_factory() as db:
        org = ensure_test_org(db, role=role, region_code=region_code, institution_id=institution_id)
        user = create_user(db, username=f"t_{role}_{uuid.uuid4().hex[:8]}", display_name=f"测试 {role}", org=org,
                           role=role, password=password, sm2_public_key=sm2_public_key, may_view_pii=may_view_pii)
        _, token = create_token(db, user_id=user.id, name="test")
        db.commit()
        return user, token


def login(client: Any, user: AppUser) -> str:
    """Give the test client a live session for `user` (skips the two-factor form); returns the CSRF token."""
    svc: Services = client.application.extensions["onemap"]
    with svc.session_factory() as db:
        fresh = db.scalar(select(AppUser).where(AppUser.id == user.id))
        principal = principal_for_user(db, fresh)
    ws = SessionStore(svc.redis, svc.settings.redis_namespace, svc.settings.session_idle_minutes).create(
        principal, method="test")
    csrf = secrets.token_urlsafe(32)
    with client.session_transaction() as sess:
        sess["sid"], sess["device"], sess["csrf"] = ws.sid, False, csrf
    return csrf
