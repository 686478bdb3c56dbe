"""Who is logged in, as the app shell's header shows it: display name, organisation, role and district in Chinese."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.principal import Principal
from store.accounts import AppUser, Org
from store.places import Region

ROLE_ZH: dict[str, str] = {
    "city_admin": "市级管理员",
    "district_commander": "区级指挥员",
    "district_analyst": "区级分析员",
    "institution_user": "机构填报员",
    "wall_kiosk": "大屏终端",
    "city_api": "市级平台接口",
}
UNKNOWN_ROLE_ZH = "其他角色"


@dataclass(frozen=True)
class Identity:
    """The header's view of a user: never the login name."""

    display_name: str
    org_name: str
    role_zh: str


def role_name(role: str) -> str:
    """The Chinese name of a role code ('其他角色' for a code we do not know)."""
    return ROLE_ZH.get(role, UNKNOWN_ROLE_ZH)


def identify(session: Session, principal: Principal) -> Identity:
    """Display name and organisation of `principal`'s user (falls back to the role name when the row is gone)."""
    row = session.execute(select(AppUser.display_name, Org.name).join(Org, Org.id == AppUser.org_id)
                          .where(AppUser.id == principal.user_id)).first()
    role = role_name(principal.role)
    if row is None:
        return Identity(display_name=role, org_name="", role_zh=role)
    return Identity(display_name=row[0] or role, org_name=row[1] or "", role_zh=role)


def region_name(session: Session, code: str) -> str:
    """The name of a region code ('上海市' for the city code when no row holds it), else the code itself."""
    name = session.scalar(select(Region.name).where(Region.code == code))
    if name:
        return str(name)
    return "上海市" if code == "310000" else code
