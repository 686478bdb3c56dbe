"""Commander actions: create an incident; turn a decision into a dispatched task with teams and stock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from command.decision import incident_point
from command.errors import CommandError
from command.models import DispatchPlan, IncidentIn
from command.stock import Movement, apply_movement, site_in_district
from dispatch import service
from dispatch.models import PointGeometry, SubtaskSpec, TaskCreate
from dispatch.service import DispatchError, Publish
from geo.srid import SRID
from store.response import Incident, Team

SUBTASK_TYPE = {"epi": "epi", "sampling": "sampling", "disinfection": "disinfection", "treatment": "other"}


@dataclass
class DispatchResult:
    """What the action wrote, and the change events to announce once it has committed."""

    task_id: int
    subtask_ids: list[int]
    team_ids: list[int]
    movement_ids: list[int]
    changes: list[dict[str, Any]] = field(default_factory=list)


def _district(actor: Principal, default: str) -> str:
    return actor.district_code or default


def create_incident(session: Session, *, actor: Principal, data: IncidentIn, default_district: str,
                    ip: str | None = None) -> Incident:
    """A manually created event with a circular affected area around its point."""
    district = _district(actor, default_district)
    inside = session.execute(text("""SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        FROM region WHERE code = :d"""), {"lon": data.lon, "lat": data.lat, "d": district}).scalar()
    if inside is False:
        raise CommandError("invalid", "incident.outside_district", "the point is outside the district",
                           "事件位置不在本区范围内", "lon")
    incident = Incident(title=data.title, kind=data.kind, status="open", district_code=district,
                        geom=from_shape(Point(data.lon, data.lat), srid=SRID))
    session.add(incident)
    session.flush()
    session.execute(text("""UPDATE incident SET area = ST_Multi(ST_Buffer(geom::geography, :r, 'quad_segs=16')::geometry)
        WHERE id = :id"""), {"r": data.radius_m, "id": incident.id})
    audit.record(session, actor=actor, action="incident.create", object_type="incident", object_id=str(incident.id),
                 district_code=district, detail={"kind": data.kind, "radius_m": data.radius_m}, ip=ip)
    return incident


def _lock_teams(session: Session, team_ids: list[int], district: str) -> list[Team]:
    """The chosen teams locked in id order; each must be in the district and standing by."""
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.id)
                                              .with_for_update())}
    for i, tid in enumerate(team_ids):
        team = teams.get(tid)
        if team is None or team.district_code != district:
            raise CommandError("not_found", "team.not_found", f"team {tid} not found", "队伍不存在", f"team_ids.{i}")
        if team.status != "standby":
            raise CommandError("conflict", "team.not_available", f"team {tid} is {team.status}, not standby",
                               f"队伍“{team.name}”当前不是待命状态", f"team_ids.{i}")
    return [teams[t] for t in team_ids]


def dispatch_plan(session: Session, *, actor: Principal, plan: DispatchPlan, default_district: str,
                  now: datetime | None = None, ip: str | None = None, publish: Publish | None = None) -> DispatchResult:
    """One transaction: district task (accepted) → one sub-task per team, teams dispatched, stock allocated."""
    now = now or datetime.now(UTC)
    district = _district(actor, default_district)
    if plan.incident_id is not None:
        lon, lat = incident_point(session, incident_id=plan.incident_id, district_code=district)
    else:
        assert plan.lon is not None and plan.lat is not None  # DispatchPlan requires them without an incident
        lon, lat = float(plan.lon), float(plan.lat)
    teams = _lock_teams(session, plan.team_ids, district)
    deadline = now + timedelta(hours=plan.deadline_hours)
    where = PointGeometry(type="Point", coordinates=(lon, lat))
    try:
        task, _ = service.create_task(session, actor=actor, default_district=district, ip=ip, publish=publish, data=TaskCreate(
            title=plan.title, type=plan.type, priority=plan.priority, deadline=deadline, district_code=district,
            location=where, description=plan.note, incident_id=plan.incident_id))
        service.accept_task(session, actor=actor, task_id=task.id, note="指挥一张图调度", ip=ip, publish=publish)
        subs = service.split_task(session, actor=actor, task_id=task.id, ip=ip, publish=publish, specs=[
            SubtaskSpec(title=f"{plan.title}（{t.name}）"[:200], type=SUBTASK_TYPE[t.type], deadline=deadline,
                        assignee_team_id=t.id, location=where, description=plan.note) for t in teams])
    except DispatchError as exc:
        raise CommandError(exc.kind, exc.code, exc.message, exc.message_zh, exc.field) from None
    for team in teams:
        team.status = "dispatched"
    movements = []
    for i, a in enumerate(plan.allocations):
        site_in_district(session, site_id=a.site_id, district_code=district, field=f"allocations.{i}.site_id")
        moved = apply_movement(session, Movement(
            site_id=a.site_id, item_code=a.item_code, kind="allocate", quantity=Decimal(str(a.quantity)),
            task_id=task.id, note=plan.title, time=now, source_id=f"task:{task.id}:alloc:{i}"),
            field=f"allocations.{i}.", actor=actor)
        assert moved is not None  # None only for a source_id applied before; a new task's never was
        movements.append(moved.id)
    session.flush()
    audit.record(session, actor=actor, action="command.dispatch", object_type="task", object_id=str(task.id),
                 district_code=district, ip=ip, detail={"teams": plan.team_ids, "incident_id": plan.incident_id,
                                                        "allocations": [a.model_dump() for a in plan.allocations]})
    changes = [{"kind": "team", "id": t.id, "district_code": district, "geometry": _xy(session, t),
                "fields": {"status": "dispatched", "task_id": task.id}} for t in teams]
    changes += [{"kind": "stock", "id": a.site_id, "district_code": district,
                 "fields": {"item_code": a.item_code, "task_id": task.id}} for a in plan.allocations]
    return DispatchResult(task_id=task.id, subtask_ids=[s.id for s in subs], team_ids=plan.team_ids,
                          movement_ids=movements, changes=changes)


def _xy(session: Session, team: Team) -> list[float] | None:
    row = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM team WHERE id = :i AND geom IS NOT NULL"),
                          {"i": team.id}).first()
    return [float(row[0]), float(row[1])] if row else None
