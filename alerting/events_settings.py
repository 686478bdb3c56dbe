"""The warning-events settings (`setting` key `warn.events`): read, and replace with an audited change.

The section is city-wide (every district's events are fused and graded with it), so only the city admin may
change it; district commanders may read it. The caller commits.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from alerting.config import PREFIX, EventsCfg, load_config
from store.accounts import Setting

KEY = PREFIX + "events"
READ_ROLES = ("city_admin", "district_commander")
WRITE_ROLES = ("city_admin",)


def events_settings(session: Session) -> EventsCfg:
    """The effective section: defaults overlaid with the stored row."""
    return load_config(session).events


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def replace_events_settings(session: Session, *, actor: Principal, new: EventsCfg) -> EventsCfg:
    """Store `new` (already validated) as `warn.events` and audit what changed (`setting.update`)."""
    before = events_settings(session).model_dump(mode="json")
    after = new.model_dump(mode="json")
    row = session.get(Setting, KEY)
    if row is None:
        row = Setting(key=KEY)
        session.add(row)
    row.value, row.updated_by_user_id = after, actor.user_id
    session.flush()
    audit.record(session, actor=actor, action="setting.update", object_type="setting", object_id=KEY,
                 detail={"changed": _changed(before, after)})
    return load_config(session).events
