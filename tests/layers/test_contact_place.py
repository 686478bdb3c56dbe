"""Contacts get a place (issue 20, phase 2): a point in any supported CRS and a street, given or located."""
from __future__ import annotations

from datetime import date

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from core.errors import DomainError
from fieldwork import csv_import, edits
from fieldwork.models import ContactIn
from security.pii import FieldCipher
from security.secrets import KeyRing
from store.fieldwork import Contact
from tests.factories import fieldwork_map as fm

CIPHER = FieldCipher(KeyRing({"k1": bytes(range(16))}, "k1"), b"b" * 32)


def _add(db: Session, *contacts: ContactIn) -> list[int]:
    fm.regions(db)
    inv = fm.investigation(db, fm.case(db, fm.HERE, date(2026, 1, 10)))
    added = edits.add_contacts(db, actor=fm.principal("district_commander"), investigation_id=inv.id,
                               contacts=list(contacts), cipher=CIPHER)
    return [c.id for c in added]


def test_the_street_of_a_point_is_located(db: Session) -> None:
    ids = _add(db, ContactIn(record_id="A", lon=fm.FAR[0], lat=fm.FAR[1]),
               ContactIn(record_id="B", lon=fm.HERE[0], lat=fm.HERE[1], street=fm.EAST),  # given: kept
               ContactIn(record_id="C", street=fm.WEST), ContactIn(record_id="D"))
    got = {c.record_id: c for c in (db.get(Contact, i) for i in ids) if c is not None}
    assert got["A"].region_code == fm.EAST and got["A"].input_crs == "WGS84"
    assert to_shape(got["A"].geom).coords[0] == pytest.approx(fm.FAR)
    assert got["B"].region_code == fm.EAST
    assert got["C"].region_code == fm.WEST and got["C"].geom is None
    assert got["D"].region_code is None and got["D"].geom is None


def test_a_street_of_another_district_is_refused(db: Session) -> None:
    with pytest.raises(DomainError) as exc:
        _add(db, ContactIn(record_id="A"), ContactIn(record_id="B", street="319962001"))
    assert (exc.value.field, exc.value.row, exc.value.code) == ("street", 2, "fieldwork.street_outside")


def test_csv_columns_for_the_place() -> None:
    data = b"record_id,street,lon,lat,crs\nA,319961001,110.2,20.3,GCJ02\nB,,,,\n"
    a, b = csv_import.parse_contacts(data)
    assert (a.street, a.lon, a.lat, a.crs) == ("319961001", 110.2, 20.3, "GCJ02")
    assert (b.street, b.lon) == (None, None)
    with pytest.raises(DomainError):
        csv_import.parse_contacts(b"record_id,lon\nA,110.2\n")  # lon without lat
