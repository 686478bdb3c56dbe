"""Where a contact lives or was met: the point (converted to WGS84) and the street, given or located.

A given street must lie in the investigation's district; a point without a street gets the street whose
polygon contains it (store.locate), when the street polygons of the district cover it.
"""
from __future__ import annotations

from collections.abc import Sequence

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.orm import Session

from fieldwork.errors import refuse
from fieldwork.models import ContactIn
from geo.crs import to_wgs84
from geo.srid import SRID
from store.fieldwork import Contact
from store.locate import locate_points

Pending = tuple[Contact, float, float]  # a contact with a point but no street yet: (contact, lon, lat)


def set_place(contact: Contact, data: ContactIn, district: str, row: int | None = None) -> Pending | None:
    """Copy the point and the street of `data` onto `contact` (a street of another district is refused).

    Returns the contact with its WGS84 point when its street is still to be located.
    """
    if data.street is not None and data.street[:6] != district:
        raise refuse("invalid", "street_outside", f"street {data.street} is not in district {district}",
                     "街道不在本区", "street", row)
    contact.region_code, contact.geom, contact.input_crs = data.street, None, None
    if data.lon is None or data.lat is None:
        return None
    lon, lat = (float(v) for v in to_wgs84(data.lon, data.lat, data.crs))
    contact.geom, contact.input_crs = from_shape(Point(lon, lat), srid=SRID), data.crs
    return None if data.street is not None else (contact, lon, lat)


def locate_streets(session: Session, pending: Sequence[Pending | None], district: str) -> None:
    """The street of each pending contact, by point-in-polygon (only streets of `district`)."""
    todo = [p for p in pending if p is not None]
    spots = locate_points(session, [(i, lon, lat) for i, (_c, lon, lat) in enumerate(todo)])
    for i, (contact, _lon, _lat) in enumerate(todo):
        spot = spots.get(i)
        if spot is not None and spot.street is not None and spot.street[:6] == district:
            contact.region_code = spot.street
