"""The writers behind both intake paths (HTTP and Redis Streams): validate, resolve, upsert, announce.

`write_batch` works inside the caller's transaction; `store_batch` is the whole unit of work —
one transaction, commit, then the change events — and is what the API and the worker call.
Batches are written with one set-based statement per kind (case reports, syndromic counts and lab
results by binary COPY into a staging table and one merge, ingest.merge); if the database refuses that statement,
the batch is retried record by record (each in a savepoint) so only the culprits are rejected
(store.bulk). The other departments' feed kinds are written by feeds.writers (issue #10).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from accounts import audit
from accounts.audit_chainer import chainer_for
from accounts.pii_view import encrypt_identities
from accounts.principal import Principal
from config.runtime import Services
from feeds.schemas import FEED_KINDS
from feeds.writers import write_items
from geo.crs import to_wgs84
from geo.srid import SRID
from ingest.events import ChangeEvent, publish_changes
from ingest.merge import stage_and_merge
from ingest.schemas import (
    KINDS,
    BatchResult,
    CaseReportIn,
    LabResultIn,
    StockChangeIn,
    SyndromicCountIn,
    TeamPositionIn,
    field_error,
    parse_record,
    source_id_of,
)
from security.pii import FieldCipher
from store.bulk import BulkRun, Item, Written, unnest
from store.case_cells import cell_sql
from store.locate import RegionRef, locate_points, regions_by_code
from store.records import FieldError

log = logging.getLogger(__name__)
PII_FIELDS = ("name", "id_number", "phone", "address")


@dataclass(kw_only=True)
class _Batch(BulkRun):
    cipher: FieldCipher | None
    principal: Principal | None
    source_field: ClassVar[str | None] = "record_id"

    def allowed(self, institution_id: int | None, district_code: str) -> bool:
        return self.principal is None or self.principal.may_see_institution(institution_id, district_code)


# --- public API -----------------------------------------------------------------------------------

def write_batch(session: Session, *, kind: str, records: Sequence[Any], cipher: FieldCipher | None,
                principal: Principal | None = None) -> tuple[BatchResult, list[ChangeEvent]]:
    """Validate and upsert `records` of `kind` in the caller's transaction; returns outcomes and events."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    batch = _Batch(session=session, cipher=cipher, principal=principal)
    items: list[Item] = []
    for index, raw in enumerate(records):
        rec, errors = parse_record(kind, raw)
        sid = source_id_of(rec) if rec is not None else _raw_source_id(raw)
        item = Item(index=index, rec=rec, source_id=sid)
        if errors:
            batch.reject(item, errors)
        else:
            items.append(item)
    if items:
        _WRITERS[kind](batch, items)
        _audit_batch(batch, kind, items)
    results = [batch.outcomes[i] for i in range(len(records))]
    rejected = sum(r.status == "rejected" for r in results)
    return BatchResult(kind=kind, accepted=len(results) - rejected, rejected=rejected, results=results), batch.events


def store_batch(services: Services, *, kind: str, records: Sequence[Any],
                principal: Principal | None = None) -> BatchResult:
    """Write a batch in its own transaction, commit, then publish its change events; raises on DB outage."""
    with services.session_factory() as session:
        result, events = write_batch(session, kind=kind, records=records, cipher=services.cipher,
                                     principal=principal)
        session.commit()
    try:
        publish_changes(services.redis, services.settings.redis_namespace, events)
    except Exception:  # the data is committed; screens catch up on their next full refresh
        log.exception("could not publish %d change events", len(events))
    if kind in _AUDIT_ACTIONS and result.accepted:
        chainer_for(services.session_factory).poke()
    return result


# The audited intake kinds and their audit action.
_AUDIT_ACTIONS = {"case_report": "intake.identity", "stock_change": "stock.change"}


def _audit_batch(batch: _Batch, kind: str, items: list[Item]) -> None:
    """Audit identity-bearing case intake and stock changes: one row per district and batch, with the ids.

    Recorded outside the chain's lock (chained after the commit), so concurrent intakes commit side by side."""
    action = _AUDIT_ACTIONS.get(kind)
    if action is None:
        return
    written = [i for i in items if i.rec.patient is not None] if kind == "case_report" else items
    by_district: dict[str, list[int]] = {}
    for item in written:
        outcome = batch.outcomes.get(item.index)
        if outcome is not None and outcome.status in ("created", "updated") and outcome.id is not None:
            district = item.row.get("district_code") or (item.owner or {}).get("district_code") or ""
            by_district.setdefault(district, []).append(outcome.id)
    audit.record_pending(batch.session, [
        audit.AuditEntry(batch.principal, action, kind, None, district or None,
                         {"via": "intake", "count": len(ids), "ids": ids[:500]})
        for district, ids in sorted(by_district.items())])


def _raw_source_id(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    owner = raw.get("institution_code") or raw.get("team_code") or raw.get("site_code")
    rid = raw.get("record_id")
    return f"{owner}:{rid}"[:120] if isinstance(owner, str) and isinstance(rid, str) else None


# --- resolution -----------------------------------------------------------------------------------

def _lookup(session: Session, sql: str, codes: set[str]) -> dict[str, Any]:
    rows = session.execute(text(sql), {"codes": sorted(codes)}).mappings().all()
    return {r["code"]: r for r in rows}


_INSTITUTIONS = ("SELECT id, code, district_code, region_code, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                 "FROM institution WHERE code = ANY(:codes)")
_TEAMS = "SELECT id, code, district_code, institution_id FROM team WHERE code = ANY(:codes)"
_SITES = ("SELECT id, code, district_code, institution_id, ST_X(geom) AS lon, ST_Y(geom) AS lat "
          "FROM resource_site WHERE code = ANY(:codes)")


def _resolve_owner(batch: _Batch, items: list[Item], attr: str, sql: str, code: str) -> list[Item]:
    """Attach the institution / team / site named by `attr`; reject unknown ones and those out of scope."""
    owners = _lookup(batch.session, sql, {getattr(i.rec, attr) for i in items})
    kept = []
    for item in items:
        owner = owners.get(getattr(item.rec, attr))
        if owner is None:
            batch.reject(item, [field_error(attr, code, f"{attr} is not known")])
        elif not batch.allowed(owner["id"] if attr == "institution_code" else owner["institution_id"],
                               owner["district_code"]):
            batch.reject(item, [field_error(attr, "scope.forbidden", "outside the caller's scope")])
        else:
            item.owner = owner
            kept.append(item)
    return kept


_HAS_POLYGON = text("SELECT DISTINCT code FROM region WHERE level = 'district' AND code = ANY(:codes)")


def _place(batch: _Batch, items: list[Item], district_of: Callable[[Item], str],
           residence: bool = False) -> list[Item]:
    """Convert points to WGS84, check the given region, and assign the street (else district) by point-in-polygon.

    Sets row lon/lat/input_crs/region_code; rejects points outside the expected district. With `residence`
    (case reports: a case belongs to the district where the patient lives, whichever hospital reported it)
    the point may lie in any district, which then becomes the row's district_code.
    """
    located = [i for i in items if getattr(i.rec, "lon", None) is not None]
    for item in located:
        lon, lat = to_wgs84(item.rec.lon, item.rec.lat, item.rec.crs)
        item.row.update(lon=float(lon), lat=float(lat), input_crs=item.rec.crs)
    where = locate_points(batch.session, [(i.index, i.row["lon"], i.row["lat"]) for i in located])
    districts = {district_of(i) for i in items}
    with_polygon = set(batch.session.scalars(_HAS_POLYGON, {"codes": sorted(districts)}))
    given = {i.rec.region_code for i in items if getattr(i.rec, "region_code", None)}
    regions = regions_by_code(batch.session, given)
    kept = []
    for item in items:
        district = district_of(item)
        region_code = getattr(item.rec, "region_code", None)
        for key in ("lon", "lat", "input_crs"):
            item.row.setdefault(key, None)
        if region_code is not None and not _region_fits(batch, item, regions.get(region_code), district):
            continue
        if item.index in where:
            spot = where[item.index]
            found = spot.district
            if residence and found is not None and region_code is None:
                district = found
                item.row["district_code"] = found
            if district in with_polygon and found != district:
                batch.reject(item, [field_error("lon", "geo.outside_district",
                                                f"point lies outside district {district}")])
                continue
            if region_code is None and found == district:
                region_code = spot.street or spot.district
        item.row["region_code"] = region_code
        kept.append(item)
    return kept


def _region_fits(batch: _Batch, item: Item, region: RegionRef | None, district: str) -> bool:
    """The given region exists and lies in the expected district; else the item is rejected."""
    if region is None:
        batch.reject(item, [field_error("region_code", "ref.unknown_region", "region_code is not known")])
        return False
    if region.district_code != district:
        batch.reject(item, [field_error("region_code", "geo.region_outside_district",
                                        f"region is not in district {district}")])
        return False
    return True


# --- case reports -------------------------------------------------------------------------------------

_CASE_COLUMNS = {
    "source_id": "text", "source_version": "int", "disease_code": "text", "case_type": "text", "onset_date": "date",
    "diagnosis_time": "timestamptz", "report_time": "timestamptz", "audit_time": "timestamptz",
    "reporting_institution_id": "int", "region_code": "text", "district_code": "text", "lon": "float8",
    "lat": "float8", "input_crs": "text", "age": "int", "sex": "text", "occupation": "text", "outcome": "text",
    "death_date": "date", "name_enc": "bytea", "id_number_enc": "bytea", "phone_enc": "bytea",
    "address_enc": "bytea", "id_number_bidx": "bytea", "phone_bidx": "bytea",
}
_CASE_UPDATE = [c for c in _CASE_COLUMNS if c not in ("source_id", "lon", "lat")] + ["geom", "grid_code"]


def _write_cases(batch: _Batch, items: list[Item]) -> None:
    items = batch.latest_per_key(items, key=lambda i: i.source_id, order=lambda i: i.rec.version)
    items = _resolve_owner(batch, items, "institution_code", _INSTITUTIONS, "ref.unknown_institution")
    known = set(batch.session.scalars(text("SELECT code FROM disease WHERE code = ANY(:c)"),
                                      {"c": sorted({i.rec.disease_code for i in items})}))
    kept = []
    for item in items:
        if item.rec.disease_code not in known:
            batch.reject(item, [field_error("disease_code", "ref.unknown_disease", "disease_code is not known")])
        elif item.rec.patient is not None and batch.cipher is None:
            batch.reject(item, [field_error("patient", "pii.cipher_unavailable", "no PII key configured")])
        else:
            kept.append(item)
    kept = _place(batch, kept, lambda i: i.owner["district_code"], residence=True)
    identities = _identities(batch.cipher, kept)
    for item, identity in zip(kept, identities, strict=True):
        item.row.update(_case_row(item, item.row.get("district_code") or item.owner["district_code"]), **identity)
    if kept:
        batch.guarded(kept, lambda chunk: _upsert_cases(batch, chunk))


def _identities(cipher: FieldCipher | None, items: list[Item]) -> list[dict[str, bytes | None]]:
    """Encrypted identity columns of each item, encrypted field by field for the whole batch."""
    empty = dict.fromkeys(_IDENTITY_COLUMNS)
    with_patient = [i for i in items if i.rec.patient is not None]
    if cipher is None or not with_patient:
        return [dict(empty) for _ in items]
    encrypted = dict(zip((id(i) for i in with_patient),
                         encrypt_identities(cipher, [i.rec.patient for i in with_patient]), strict=True))
    return [encrypted.get(id(i)) or dict(empty) for i in items]


_IDENTITY_COLUMNS = tuple(f"{f}_enc" for f in PII_FIELDS) + ("id_number_bidx", "phone_bidx")


def _case_row(item: Item, district_code: str) -> dict[str, Any]:
    rec: CaseReportIn = item.rec
    return dict(
        source_id=item.source_id, source_version=rec.version, disease_code=rec.disease_code,
        case_type=rec.case_type, onset_date=rec.onset_date, diagnosis_time=rec.diagnosis_time,
        report_time=rec.report_time, audit_time=rec.audit_time, reporting_institution_id=item.owner["id"],
        district_code=district_code, age=rec.age, sex=rec.sex, occupation=rec.occupation,
        outcome=rec.outcome, death_date=rec.death_date,
    )


_CASE_COLS = [c for c in _CASE_COLUMNS if c not in ("lon", "lat")]
_CASE_MERGE = f"""
    INSERT INTO case_report ({', '.join(_CASE_COLS)}, geom, grid_code)
    SELECT {', '.join(_CASE_COLS)}, s.geom, {cell_sql("s.district_code", "s.geom")}
    FROM (SELECT *, CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), {SRID}) END AS geom
          FROM staged) s
    ON CONFLICT (source_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _CASE_UPDATE)},
        updated_at = now()
    WHERE excluded.source_version > case_report.source_version
    RETURNING id, source_id, (xmax = 0) AS inserted"""


def _upsert_cases(batch: _Batch, items: list[Item]) -> None:
    returned = stage_and_merge(batch.session, "case_stage", _CASE_COLUMNS, [i.row for i in items], _CASE_MERGE)
    batch.settle(items, returned, _case_event)


def _case_event(item: Item, id_: int, action: Written) -> ChangeEvent:
    row = item.row
    return ChangeEvent(
        kind="case_report", id=id_, action=action, district_code=row["district_code"],
        region_code=row["region_code"], institution_id=row["reporting_institution_id"], geometry=_point(row),
        fields={"disease_code": row["disease_code"], "case_type": row["case_type"],
                "onset_date": row["onset_date"].isoformat(), "report_time": row["report_time"].isoformat(),
                "outcome": row["outcome"], "version": row["source_version"], "source_id": item.source_id})


def _point(row: dict[str, Any]) -> list[float] | None:
    return None if row.get("lon") is None else [round(row["lon"], 7), round(row["lat"], 7)]


# --- syndromic counts --------------------------------------------------------------------------------

_SYNDROMIC_COLUMNS = {"source_id": "text", "institution_id": "int", "district_code": "text", "day": "date",
                      "syndrome": "text", "visits": "int", "cases": "int"}


def _write_syndromic(batch: _Batch, items: list[Item]) -> None:
    items = _resolve_owner(batch, items, "institution_code", _INSTITUTIONS, "ref.unknown_institution")
    items = batch.latest_per_key(items, key=lambda i: (i.owner["id"], i.rec.day, i.rec.syndrome))
    for item in items:
        rec: SyndromicCountIn = item.rec
        item.row = dict(source_id=item.source_id, institution_id=item.owner["id"],
                        district_code=item.owner["district_code"], day=rec.day, syndrome=rec.syndrome,
                        visits=rec.visits, cases=rec.cases)
    if items:
        batch.guarded(items, lambda chunk: _upsert_syndromic(batch, chunk))


def _upsert_syndromic(batch: _Batch, items: list[Item]) -> None:
    sql = f"""
        INSERT INTO syndromic_count ({', '.join(_SYNDROMIC_COLUMNS)}) SELECT * FROM staged
        ON CONFLICT ON CONSTRAINT uq_syndromic_inst_day DO UPDATE
            SET visits = excluded.visits, cases = excluded.cases, source_id = excluded.source_id, updated_at = now()
        WHERE (syndromic_count.visits, syndromic_count.cases, syndromic_count.source_id)
              IS DISTINCT FROM (excluded.visits, excluded.cases, excluded.source_id)
        RETURNING id, institution_id, day, syndrome, (xmax = 0) AS inserted"""
    returned = stage_and_merge(batch.session, "syndromic_stage", _SYNDROMIC_COLUMNS, [i.row for i in items], sql)
    written = {(r.institution_id, r.day, r.syndrome): r for r in returned}
    for item in items:
        row = item.row
        hit = written.get((row["institution_id"], row["day"], row["syndrome"]))
        if hit is None:
            batch.done(item, "unchanged", None)
            continue
        action: Written = "created" if hit.inserted else "updated"
        batch.done(item, action, hit.id)
        owner = item.owner
        batch.events.append(ChangeEvent(
            kind="syndromic_count", id=hit.id, action=action,
            district_code=row["district_code"], region_code=owner["region_code"], institution_id=owner["id"],
            geometry=_point(owner), fields={"day": row["day"].isoformat(), "syndrome": row["syndrome"],
                                            "visits": row["visits"], "cases": row["cases"],
                                            "institution_code": owner["code"]}))


# --- lab results -------------------------------------------------------------------------------------

_LAB_COLUMNS = {"source_id": "text", "lab_institution_id": "int", "sample_id": "text", "pathogen": "text",
                "result": "text", "sample_time": "timestamptz", "result_time": "timestamptz", "region_code": "text",
                "district_code": "text", "case_source_id": "text"}
_LAB_UPDATE = [c for c in _LAB_COLUMNS if c != "source_id"]


def _write_labs(batch: _Batch, items: list[Item]) -> None:
    items = batch.latest_per_key(items, key=lambda i: i.source_id,
                            order=lambda i: i.rec.result_time or datetime.min.replace(tzinfo=UTC))
    items = _resolve_owner(batch, items, "institution_code", _INSTITUTIONS, "ref.unknown_institution")
    items = _place(batch, items, lambda i: i.owner["district_code"])
    for item in items:
        rec: LabResultIn = item.rec
        item.row = dict(source_id=item.source_id, lab_institution_id=item.owner["id"], sample_id=rec.sample_id,
                        pathogen=rec.pathogen, result=rec.result, sample_time=rec.sample_time,
                        result_time=rec.result_time, region_code=item.row["region_code"],
                        district_code=item.owner["district_code"], case_source_id=rec.case_source_id)
    if items:
        batch.guarded(items, lambda chunk: _upsert_labs(batch, chunk))


def _upsert_labs(batch: _Batch, items: list[Item]) -> None:
    sql = f"""
        INSERT INTO lab_result ({', '.join(_LAB_COLUMNS)}) SELECT * FROM staged
        ON CONFLICT (source_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _LAB_UPDATE)},
            updated_at = now()
        WHERE (lab_result.result_time IS NULL OR excluded.result_time >= lab_result.result_time)
          AND ({', '.join(f'lab_result.{c}' for c in _LAB_UPDATE)})
              IS DISTINCT FROM ({', '.join(f'excluded.{c}' for c in _LAB_UPDATE)})
        RETURNING id, source_id, (xmax = 0) AS inserted"""
    returned = stage_and_merge(batch.session, "lab_stage", _LAB_COLUMNS, [i.row for i in items], sql)
    batch.settle(items, returned, lambda item, id_, action: ChangeEvent(
        kind="lab_result", id=id_, action=action, district_code=item.row["district_code"],
        region_code=item.row["region_code"], institution_id=item.owner["id"], geometry=_point(item.owner),
        fields={"pathogen": item.row["pathogen"], "result": item.row["result"],
                "sample_time": item.row["sample_time"].isoformat()}))


# --- team positions ----------------------------------------------------------------------------------

_POSITION_COLUMNS = {"source_id": "text", "team_id": "int", "time": "timestamptz", "lon": "float8", "lat": "float8",
                     "input_crs": "text", "speed_kmh": "float8"}


def _write_positions(batch: _Batch, items: list[Item]) -> None:
    items = batch.latest_per_key(items, key=lambda i: i.source_id)
    items = _resolve_owner(batch, items, "team_code", _TEAMS, "ref.unknown_team")
    items = _place(batch, items, lambda i: i.owner["district_code"])
    for item in items:
        rec: TeamPositionIn = item.rec
        item.row.update(source_id=item.source_id, team_id=item.owner["id"], time=rec.time, speed_kmh=rec.speed_kmh)
    if items:
        batch.guarded(items, lambda chunk: _insert_positions(batch, chunk))


def _insert_positions(batch: _Batch, items: list[Item]) -> None:
    source, params = unnest(_POSITION_COLUMNS, [i.row for i in items])
    sql = f"""
        INSERT INTO team_position (source_id, team_id, time, geom, input_crs, speed_kmh)
        SELECT source_id, team_id, time, ST_SetSRID(ST_MakePoint(lon, lat), {SRID}), input_crs, speed_kmh
        FROM {source}
        ON CONFLICT (source_id) DO NOTHING RETURNING id, source_id"""
    inserted = {r.source_id: r.id for r in batch.session.execute(text(sql), params)}
    latest: dict[int, Item] = {}
    for item in items:
        if item.source_id not in inserted:
            batch.done(item, "unchanged", None)
            continue
        batch.done(item, "created", inserted[item.source_id])
        team = item.row["team_id"]
        if team not in latest or item.rec.time >= latest[team].rec.time:
            latest[team] = item
    if latest:
        _move_teams(batch, list(latest.values()))


def _move_teams(batch: _Batch, items: list[Item]) -> None:
    """Make the newest fix the team's current position (late fixes only join the history)."""
    rows = [dict(team_id=i.row["team_id"], time=i.row["time"], lon=i.row["lon"], lat=i.row["lat"],
                 status=i.rec.status) for i in items]
    source, params = unnest({"team_id": "int", "time": "timestamptz", "lon": "float8", "lat": "float8",
                              "status": "text"}, rows)
    sql = f"""
        UPDATE team SET geom = ST_SetSRID(ST_MakePoint(t.lon, t.lat), {SRID}), position_time = t.time,
                        status = COALESCE(t.status, team.status), updated_at = now()
        FROM {source}
        WHERE team.id = t.team_id AND (team.position_time IS NULL OR team.position_time < t.time)
        RETURNING team.id, team.code, team.status, team.type, team.district_code, team.institution_id"""
    by_team = {i.row["team_id"]: i for i in items}
    for r in batch.session.execute(text(sql), params):
        item = by_team[r.id]
        batch.events.append(ChangeEvent(
            kind="team_position", id=r.id, action="updated", district_code=r.district_code,
            region_code=item.row["region_code"], institution_id=r.institution_id, geometry=_point(item.row),
            fields={"team_code": r.code, "type": r.type, "status": r.status, "time": item.row["time"].isoformat(),
                    "speed_kmh": item.row["speed_kmh"]}))


# --- stock changes -----------------------------------------------------------------------------------

def _write_stock(batch: _Batch, items: list[Item]) -> None:
    items = batch.latest_per_key(items, key=lambda i: i.source_id)
    items = _resolve_owner(batch, items, "site_code", _SITES, "ref.unknown_site")
    for item in sorted(items, key=lambda i: i.rec.time):  # apply in the order things happened
        try:
            with batch.session.begin_nested():
                _apply_stock(batch, item)
        except _Refused as refused:
            batch.reject(item, [refused.error])
        except (IntegrityError, DataError) as exc:
            batch.reject_db(item, exc)


class _Refused(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(error.code)
        self.error = error


def _apply_stock(batch: _Batch, item: Item) -> None:
    """Record the movement once (by source id) and change the quantity; never below zero."""
    rec: StockChangeIn = item.rec
    site = item.owner
    moved = batch.session.execute(text("""
        INSERT INTO stock_movement (source_id, site_id, item_code, kind, delta, time, note)
        VALUES (:sid, :site, :item, :kind, :delta, :time, :note) ON CONFLICT (source_id) DO NOTHING RETURNING id"""),
        dict(sid=item.source_id, site=site["id"], item=rec.item_code, kind=rec.kind, delta=rec.delta,
             time=rec.time, note=rec.note)).scalar()
    if moved is None:
        batch.done(item, "unchanged", None)
        return
    stock = batch.session.execute(text("""
        UPDATE stock SET quantity = quantity + :delta, updated_at = now()
        WHERE site_id = :site AND item_code = :item RETURNING id, quantity, min_level, item_name, unit"""),
        dict(delta=rec.delta, site=site["id"], item=rec.item_code)).first()
    if stock is None:
        if rec.kind != "in" or not (rec.item_name and rec.category and rec.unit):
            raise _Refused(field_error("item_code", "ref.unknown_item", "item not stocked at this site"))
        stock = batch.session.execute(text("""
            INSERT INTO stock (site_id, item_code, item_name, category, unit, quantity, min_level)
            VALUES (:site, :item, :name, :cat, :unit, :q, :min) RETURNING id, quantity, min_level, item_name, unit"""),
            dict(site=site["id"], item=rec.item_code, name=rec.item_name, cat=rec.category, unit=rec.unit,
                 q=rec.delta, min=rec.min_level or 0)).one()
    if stock.quantity < 0:
        raise _Refused(field_error("quantity", "stock.insufficient", "more than the quantity in stock"))
    batch.done(item, "created", moved)
    batch.events.append(ChangeEvent(
        kind="stock", id=stock.id, action="updated", district_code=site["district_code"],
        institution_id=site["institution_id"], geometry=_point(site),
        fields={"site_code": site["code"], "item_code": rec.item_code, "item_name": stock.item_name,
                "unit": stock.unit, "quantity": float(stock.quantity), "min_level": float(stock.min_level),
                "below_min": stock.quantity < stock.min_level, "movement": rec.kind, "delta": rec.delta}))


def _write_feed(kind: str, batch: _Batch, items: list[Item]) -> None:
    """Other departments' feeds (issue #10): written by feeds.writers, reported like every other kind."""
    outcomes, events = write_items(batch.session, kind=kind, items=items, principal=batch.principal)
    batch.outcomes.update(outcomes)
    batch.events.extend(events)


_WRITERS: dict[str, Callable[[_Batch, list[Item]], None]] = {
    "case_report": _write_cases,
    "syndromic_count": _write_syndromic,
    "lab_result": _write_labs,
    "team_position": _write_positions,
    "stock_change": _write_stock,
    **{kind: partial(_write_feed, kind) for kind in FEED_KINDS},
}
