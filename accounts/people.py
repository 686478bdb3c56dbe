"""People as users read them: display name and organisation, never the login name."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.accounts import AppUser, Org

SYSTEM_ZH = "系统"
# Actors recorded by name only (no user row): automatic jobs and the city platform's channel.
_NAMED_ZH = {"system": SYSTEM_ZH, "city": "市级平台", "city_platform": "市级平台", "scheduler": "系统定时任务"}


def people(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """{user id: '显示名（机构）'} for the given ids (unknown ids are left out)."""
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    rows = session.execute(select(AppUser.id, AppUser.display_name, Org.name).join(Org, Org.id == AppUser.org_id)
                           .where(AppUser.id.in_(ids)))
    return {uid: f"{name}（{org}）" if org else name for uid, name, org in rows}


def actor_label(known: dict[int, str], user_id: int | None, recorded_name: str | None) -> str:
    """The label of one recorded actor: the person when there is a user row, else what the name stands for."""
    if user_id and user_id in known:
        return known[user_id]
    if not recorded_name:
        return SYSTEM_ZH
    return _NAMED_ZH.get(recorded_name.lower(), "其他用户")
