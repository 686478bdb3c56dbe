"""A warning run reuses the alarms of the last completed run of the same scope and day when none of its inputs
changed since: the same data, settings and models give the same alarms, so the series, models and scan need
not run again (issue 18: a re-run of the whole city in seconds).

The inputs' fingerprint is cheap: the count, newest id and sum of ids of the scope's rows in
`warn_input_change`, which triggers append to on every write of case reports and syndromic counts (per
district) and of regions, diseases and institutions ('*'), whoever writes (migration warn_0003) — plus the
day, the models, the warning settings, the fields of an alarm and ENGINE (bumped when a model's code changes
its output). It is read before any data, so a write committed during the run changes the next run's
fingerprint. Stored alarms are JSON text (exact floats); an alarm that does not serialise leaves the run
unstored, and a stored run that no longer loads is computed again. Stored runs are kept KEEP_DAYS days.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

from shapely import wkb
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from alerting.config import WarnConfig
from alerting.service import Alarm
from store.warn_runs import WarnInputChange, WarnRunResult

ENGINE = "warn-engine-1"  # bump when a model's code changes what it raises for the same inputs
_DATES = ("as_of", "window_start")
KEEP_DAYS = 14  # stored runs and input changes older than this are dropped (a city day is ~0.3 MB compressed)
_LOG = aliased(WarnInputChange)


@dataclass(frozen=True)
class StoredRun:
    """A completed run's alarms and what its report said of them."""

    alarms: list[Alarm]
    report: dict[str, Any]  # series, alarms per model, skipped models


def scope_of(district_code: str | None) -> str:
    return district_code or "*"


def prune_changes(session: Session) -> None:
    """Drop input changes older than KEEP_DAYS but each district's newest (in a short transaction of its own,
    before `fingerprint`): a district's count and sum of ids then fall, so a run stored before the pruning is
    computed again once."""
    newest = select(func.max(WarnInputChange.id)).where(WarnInputChange.district_code == _LOG.district_code) \
        .scalar_subquery()
    session.execute(delete(_LOG).where(_LOG.changed_at < func.now() - timedelta(days=KEEP_DAYS), _LOG.id < newest))


def fingerprint(session: Session, *, district_code: str | None, as_of: date, cfg: WarnConfig,
                models: Iterable[str]) -> str:
    """The inputs of a run: its scope's input changes, its day, models and settings (call before reading data)."""
    stmt = select(WarnInputChange.district_code, func.count(), func.max(WarnInputChange.id),
                  func.sum(WarnInputChange.id)).group_by(WarnInputChange.district_code).order_by(WarnInputChange.district_code)
    if district_code:
        stmt = stmt.where(WarnInputChange.district_code.in_((district_code, "*")))
    changes = [list(r) for r in session.execute(stmt)]
    payload = {"engine": ENGINE, "scope": scope_of(district_code), "as_of": as_of.isoformat(),
               "models": sorted(set(models)), "config": cfg.model_dump(mode="json"), "changes": changes,
               "alarm_fields": [f.name for f in fields(Alarm)]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def load(session: Session, *, district_code: str | None, as_of: date, print_: str) -> StoredRun | None:
    """The stored run of this scope and day if its fingerprint is `print_`, else None."""
    row = session.get(WarnRunResult, (scope_of(district_code), as_of))
    if row is None or row.fingerprint != print_:
        return None
    try:
        data = json.loads(row.result)
        return StoredRun([_alarm(a) for a in data["alarms"]], data["report"])
    except (KeyError, TypeError, ValueError):  # stored by an older engine: compute again
        return None


def save(session: Session, *, district_code: str | None, as_of: date, print_: str, alarms: list[Alarm],
         report: dict[str, Any]) -> bool:
    """Keep this run's alarms for the next run of the same scope and day; False if they do not serialise."""
    try:
        text_ = json.dumps({"alarms": [_json(a) for a in alarms], "report": report}, allow_nan=True)
    except (TypeError, ValueError):
        return False
    values = {"scope": scope_of(district_code), "as_of": as_of, "fingerprint": print_, "result": text_}
    stmt = insert(WarnRunResult).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["scope", "as_of"],
                                               set_={"fingerprint": print_, "result": text_,
                                                     "created_at": func.now()}))
    session.execute(delete(WarnRunResult).where(WarnRunResult.created_at < func.now() - timedelta(days=KEEP_DAYS)))
    return True


def _json(alarm: Alarm) -> dict[str, Any]:
    out = {f.name: getattr(alarm, f.name) for f in fields(Alarm)}
    for name in _DATES:
        out[name] = out[name].isoformat() if out[name] is not None else None
    out["geometry"] = alarm.geometry.wkb_hex if alarm.geometry is not None else None
    return out


def _alarm(data: dict[str, Any]) -> Alarm:
    values = dict(data)
    for name in _DATES:
        values[name] = date.fromisoformat(values[name]) if values[name] is not None else None
    values["geometry"] = wkb.loads(values["geometry"], hex=True) if values["geometry"] is not None else None
    return Alarm(**values)
