"""Organisations and user accounts: creation, password and status changes, all audited."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.passwords import check_policy, hash_password
from accounts.principal import CITY_CODE, Principal
from security.sm2 import SM2Error, validate_public_key
from store.accounts import ORG_LEVELS, ROLES, AppUser, Org


class AccountError(ValueError):
    """Invalid account data; `code` and `field` name what is wrong."""

    def __init__(self, code: str, message: str, message_zh: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message_zh, self.field = code, message_zh, field


def ensure_org(session: Session, *, code: str, name: str, level: str, region_code: str,
               parent: Org | None = None, institution_id: int | None = None) -> Org:
    """The org with this code, created if missing (idempotent)."""
    if level not in ORG_LEVELS:
        raise AccountError("org.bad_level", f"level must be one of {ORG_LEVELS}", "机构层级无效", "level")
    org = session.scalar(select(Org).where(Org.code == code))
    if org is None:
        org = Org(code=code, name=name, level=level, region_code=region_code,
                  parent_id=parent.id if parent else None, institution_id=institution_id)
        session.add(org)
        session.flush()
    return org


def _check_role_fits_org(role: str, org: Org) -> None:
    if role not in ROLES:
        raise AccountError("user.bad_role", f"role must be one of {ROLES}", "角色无效", "role")
    wanted = {"city_admin": "city", "city_api": "city", "institution_user": "institution"}.get(role, "district")
    if org.level != wanted:
        raise AccountError("user.role_org_mismatch", f"role {role} needs a {wanted}-level org",
                           "角色与所属机构层级不符", "org")


def _check_public_key(public_hex: str | None) -> None:
    if public_hex is None:
        return
    try:
        validate_public_key(public_hex)
    except SM2Error as exc:
        raise AccountError("user.bad_public_key", str(exc), "SM2 公钥无效", "sm2_public_key") from exc


def create_user(session: Session, *, username: str, display_name: str, org: Org, role: str, password: str | None,
                sm2_public_key: str | None = None, may_view_pii: bool = False,
                actor: Principal | None = None) -> AppUser:
    """Create an account (password policy enforced) and audit it."""
    if not username or len(username) > 60 or not username.replace("_", "").replace("-", "").isalnum():
        raise AccountError("user.bad_username", "user name: letters, digits, _ and -", "用户名只能含字母、数字、_ 和 -",
                           "username")
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise AccountError("user.exists", f"user {username} exists", "用户名已存在", "username")
    _check_role_fits_org(role, org)
    _check_public_key(sm2_public_key)
    user = AppUser(username=username, display_name=display_name, org_id=org.id, role=role,
                   sm2_public_key=sm2_public_key, may_view_pii=may_view_pii, failed_logins=0, is_active=True)
    if password is not None:
        _apply_password(user, password)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", object_type="app_user", object_id=str(user.id),
                 district_code=_district_of(org), detail={"username": username, "role": role, "org": org.code,
                                                          "may_view_pii": may_view_pii})
    return user


def _apply_password(user: AppUser, password: str) -> None:
    check_policy(password, username=user.username)
    user.password_hash, user.password_salt, user.password_iterations = hash_password(password)


def _district_of(org: Org) -> str | None:
    return None if org.region_code == CITY_CODE else org.region_code[:6]


def set_password(session: Session, user: AppUser, password: str, *, actor: Principal | None) -> None:
    """Change a password (policy enforced), clear the lockout, audit."""
    _apply_password(user, password)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor=actor, action="user.password_change", object_type="app_user", object_id=str(user.id))


def update_user(session: Session, user: AppUser, *, actor: Principal | None, role: str | None = None,
                is_active: bool | None = None, may_view_pii: bool | None = None,
                sm2_public_key: str | None = None) -> dict[str, object]:
    """Change role, status, PII permission or key; returns and audits what changed."""
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        org = session.get(Org, user.org_id)
        assert org is not None
        _check_role_fits_org(role, org)
        changes["role"], user.role = role, role
    if is_active is not None and is_active != user.is_active:
        changes["is_active"], user.is_active = is_active, is_active
    if may_view_pii is not None and may_view_pii != user.may_view_pii:
        changes["may_view_pii"], user.may_view_pii = may_view_pii, may_view_pii
    if sm2_public_key is not None and sm2_public_key != user.sm2_public_key:
        _check_public_key(sm2_public_key)
        changes["sm2_public_key"], user.sm2_public_key = sm2_public_key[:16] + "…", sm2_public_key
    if changes:
        audit.record(session, actor=actor, action="user.update", object_type="app_user", object_id=str(user.id),
                     detail=changes)
    return changes


@dataclass(frozen=True)
class UserView:
    """A user as listed by the CLI (no secrets)."""

    username: str
    role: str
    org: str
    region_code: str
    is_active: bool
    locked: bool


def list_users(session: Session) -> list[UserView]:
    rows = session.execute(select(AppUser, Org).join(Org, Org.id == AppUser.org_id).order_by(AppUser.username))
    return [UserView(u.username, u.role, o.code, o.region_code, u.is_active, u.locked_until is not None)
            for u, o in rows]
