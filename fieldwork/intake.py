"""Writing investigations: from the city's 流调 system (idempotent by `source_id`) or entered by district staff.

A repeated `source_id` with the same content is 'unchanged'; with new content the investigation is
updated: places and samples are replaced, contacts are matched by `record_id` (identity and exposure
refreshed, the follow-up state kept: after intake, follow-up is the district's), new contacts are added.
"""
from __future__ import annotations

import hashlib
from typing import Literal

from geoalchemy2.shape import from_shape
from shapely.geometry import Point, Polygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from fieldwork import identity
from fieldwork.case_link import link_contacts
from fieldwork.contact_place import locate_streets, set_place
from fieldwork.errors import refuse
from fieldwork.models import ContactIn, InvestigationIn, PlaceIn, SampleIn
from geo.crs import to_wgs84
from geo.dates import now_utc
from geo.srid import SRID
from security.pii import FieldCipher
from store.cases import CaseReport
from store.fieldwork import Contact, ExposurePlace, Investigation, Sample
from store.signals import Signal

Status = Literal["created", "updated", "unchanged"]


def _subject(session: Session, data: InvestigationIn, district: str) -> tuple[int | None, int | None]:
    """The event's and the case's ids, both in this district."""
    signal_id = case_id = None
    if data.signal_id is not None:
        sig = session.get(Signal, data.signal_id)
        if sig is None or sig.kind != "event" or sig.district_code != district:
            raise refuse("not_found", "event_not_found", f"event {data.signal_id} not found in {district}",
                         "本区无此预警事件", "signal_id")
        signal_id = sig.id
    if data.case_source_id is not None:
        case = session.scalar(select(CaseReport).where(CaseReport.source_id == data.case_source_id))
        if case is None or case.district_code != district:
            raise refuse("not_found", "case_not_found", f"case {data.case_source_id} not found in {district}",
                         "本区无此病例报告", "case_source_id")
        case_id = case.id
    return signal_id, case_id


def _geometry(place: PlaceIn, index: int) -> object:
    if place.area is None:
        assert place.lon is not None and place.lat is not None  # PlaceIn: a point or an area
        lon, lat = to_wgs84(place.lon, place.lat, place.crs)
        return from_shape(Point(float(lon), float(lat)), srid=SRID)
    lons, lats = to_wgs84([p[0] for p in place.area], [p[1] for p in place.area], place.crs)
    ring = Polygon(list(zip(lons.tolist(), lats.tolist(), strict=True)))
    if not ring.is_valid or ring.area == 0:
        raise refuse("invalid", "area_invalid", "the area's ring crosses itself or has no area",
                     "区域边界自相交或面积为零", f"places.{index}.area")
    return from_shape(ring, srid=SRID)


def _places(inv: Investigation, places: list[PlaceIn]) -> list[ExposurePlace]:
    return [ExposurePlace(investigation_id=inv.id, name=p.name, kind=p.kind, geom=_geometry(p, i), input_crs=p.crs,
                          start_time=p.start_time, end_time=p.end_time, note=p.note) for i, p in enumerate(places)]


def _samples(inv: Investigation, samples: list[SampleIn]) -> list[Sample]:
    return [Sample(investigation_id=inv.id, sample_no=s.sample_no, kind=s.kind, subject=s.subject,
                   taken_at=s.taken_at, result=s.result, result_at=s.result_at) for s in samples]


def new_contact(inv: Investigation, data: ContactIn, cipher: FieldCipher) -> Contact:
    contact = Contact(investigation_id=inv.id, record_id=data.record_id, degree=data.degree,
                      last_exposure_date=data.last_exposure_date, state=data.state, listed_at=now_utc(),
                      traced_at=data.traced_at, note=data.note)
    identity.seal(contact, cipher, data)
    return contact


def _merge_contacts(session: Session, inv: Investigation, contacts: list[ContactIn], cipher: FieldCipher) -> None:
    known = {c.record_id: c for c in session.scalars(select(Contact).where(Contact.investigation_id == inv.id))}
    pending, listed = [], []
    for row, data in enumerate(contacts, start=1):
        current = known.get(data.record_id)
        if current is None:
            current = new_contact(inv, data, cipher)
            session.add(current)
        else:
            identity.seal(current, cipher, data)
            current.degree, current.last_exposure_date = data.degree, data.last_exposure_date
        pending.append(set_place(current, data, inv.district_code, row))
        listed.append((current, data))
    locate_streets(session, pending, inv.district_code)
    link_contacts(session, listed, inv.district_code, dotted=True)


def _fill(inv: Investigation, data: InvestigationIn) -> None:
    inv.investigator, inv.status, inv.started_at = data.investigator, data.status, data.started_at
    inv.completed_at, inv.first_onset_date, inv.summary = data.completed_at, data.first_onset_date, data.summary


def content_hash(data: InvestigationIn, cipher: FieldCipher | None) -> str:
    """A keyed digest (HMAC-SM3) of the payload: compares contents without keeping identities in clear.

    Without a cipher there are no contacts (refused before), so a plain SHA-256 reveals nothing personal.
    """
    payload = data.model_dump_json()
    return cipher.blind_index(payload, "investigation").hex() if cipher else hashlib.sha256(payload.encode()).hexdigest()


def _replace_children(session: Session, inv: Investigation, data: InvestigationIn,
                      cipher: FieldCipher | None) -> None:
    for model in (ExposurePlace, Sample):
        for row in session.scalars(select(model).where(model.investigation_id == inv.id)):
            session.delete(row)
    session.flush()
    session.add_all([*_places(inv, data.places), *_samples(inv, data.samples)])
    if data.contacts:
        _merge_contacts(session, inv, data.contacts, identity.require(cipher))


def save_investigation(session: Session, data: InvestigationIn, *, actor: Principal, district: str,
                       cipher: FieldCipher | None) -> tuple[Investigation, Status]:
    """Create or update one investigation with its places, contacts and samples (the caller's transaction)."""
    if data.contacts:
        identity.require(cipher)
    signal_id, case_id = _subject(session, data, district)
    digest = content_hash(data, cipher)
    inv = session.scalar(select(Investigation).where(Investigation.source_id == data.source_id).with_for_update()
                         ) if data.source_id else None
    if inv is not None and inv.content_hash == digest:
        return inv, "unchanged"
    status: Status = "updated" if inv is not None else "created"
    if inv is None:
        inv = Investigation(source_id=data.source_id, district_code=district,
                            created_by_user_id=actor.user_id if actor.user_id > 0 else None)
        session.add(inv)
    inv.signal_id, inv.case_id, inv.content_hash = signal_id, case_id, digest
    _fill(inv, data)
    session.flush()
    _replace_children(session, inv, data, cipher)
    session.flush()
    audit.record(session, actor=actor, action=f"fieldwork.investigation_{status}", object_type="investigation",
                 object_id=str(inv.id), district_code=district,
                 detail={"source_id": data.source_id, "places": len(data.places), "contacts": len(data.contacts),
                         "samples": len(data.samples)})
    return inv, status
