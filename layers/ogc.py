"""OGC API – Features (Part 1: core, GeoJSON, OpenAPI 3.0) over the map layers; Flask-free.

A collection is a registered layer; its items are the layer's features for the caller (the same
`Layer.run`, the same scope). A layer is computed whole once per data version (the web shell shares
it through the answer cache) and indexed here: `FeatureIndex` keeps each feature's bounds, so a
bbox and a page (limit/offset) are cut from it without asking the database again.

Feature ids: every layer sets the feature's own `id` (case, institution, signal … id; region code).
A feature without one gets `h:` + the first 16 hex digits of the SHA-1 of its geometry and properties,
stable while the feature does not change.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from shapely.geometry import box, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.principal import CITY_CODE, Principal
from geo.geojson import Feature
from layers.base import Layer
from layers.ogc_query import CRS84, BBox, ItemsQuery
from store.places import Institution, Region

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
# Layers with a date filter (since/until): `datetime` selects their period; other layers ignore it.
DATED_LAYERS = frozenset({"cases", "cases.heat", "incidence", "opinion", "pharmacies", "pharmacies.streets",
                          "schools", "signals", "clusters", "weather"})
GEOJSON, JSON = "application/geo+json", "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
Bounds = tuple[float, float, float, float]


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str) -> dict[str, Any]:
    """The landing page: links to the API definition, the conformance classes and the collections."""
    return {"title": "OneMap 一张图 OGC API – Features",
            "description": "Map layers of the district surveillance platform, in the caller's scope",
            "links": [link(base, "self", JSON, "this document"),
                      link(f"{base}/api", "service-desc", OPENAPI, "the API definition (OpenAPI 3.0)"),
                      link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
                      link(f"{base}/collections", "data", JSON, "the map layers")]}


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


def scope_extent(session: Session, principal: Principal) -> Bounds | None:
    """The bounds of what `principal` may see: their district (an institution user's), or the city."""
    district = principal.district_code
    if principal.role == "institution_user" and principal.institution_id is not None:
        district = session.scalar(select(Institution.district_code).where(
            Institution.id == principal.institution_id)) or district
    where = Region.level == "district" if principal.region_code == CITY_CODE else Region.code == district
    row = session.execute(select(func.ST_XMin(func.ST_Extent(Region.geom)), func.ST_YMin(func.ST_Extent(Region.geom)),
                                 func.ST_XMax(func.ST_Extent(Region.geom)), func.ST_YMax(func.ST_Extent(Region.geom)))
                          .where(where)).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def collection(layer: Layer, description: Mapping[str, Any], base: str, extent: Bounds | None) -> dict[str, Any]:
    """The collection metadata of `layer` (its catalogue entry `description` from Layer.describe)."""
    href = f"{base}/collections/{layer.id}"
    dated = layer.id in DATED_LAYERS
    doc: dict[str, Any] = {
        "id": layer.id, "title": layer.title, "itemType": "feature",
        "description": f"{layer.title} ({layer.group}, {layer.geometry_type})"
                       + ("; datetime selects the period (default: the layer's own recent days)" if dated else ""),
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [link(href, "self", JSON, layer.title), link(f"{href}/items", "items", GEOJSON, layer.title)],
        "onemap": {k: v for k, v in description.items() if k not in ("id", "title")},
    }
    extent_doc: dict[str, Any] = {}
    if extent is not None:
        extent_doc["spatial"] = {"bbox": [list(extent)], "crs": CRS84}
    if dated:
        extent_doc["temporal"] = {"interval": [[None, None]], "trs": GREGORIAN}
    if extent_doc:
        doc["extent"] = extent_doc
    return doc


def collections(entries: Sequence[dict[str, Any]], base: str) -> dict[str, Any]:
    return {"links": [link(f"{base}/collections", "self", JSON, "the map layers")], "collections": list(entries)}


# ---------------------------------------------------------------- the computed layer, indexed


def feature_id(f: Mapping[str, Any]) -> str:
    """The feature's own id as text, else a digest of its content (see the module doc)."""
    if f.get("id") is not None:
        return str(f["id"])
    raw = json.dumps([f.get("geometry"), f.get("properties")], sort_keys=True, ensure_ascii=False)
    return "h:" + hashlib.sha1(raw.encode()).hexdigest()[:16]


def _positions(geometry: Mapping[str, Any] | None) -> Iterator[Sequence[float]]:
    stack: list[Any] = [geometry] if geometry else []
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            stack.extend(node.get("geometries") or [])
            if "coordinates" in node:
                stack.append(node["coordinates"])
        elif node and isinstance(node[0], int | float):
            yield node
        elif node:
            stack.extend(node)


def bounds(geometry: Mapping[str, Any] | None) -> Bounds | None:
    xs, ys = [], []
    for p in _positions(geometry):
        xs.append(float(p[0]))
        ys.append(float(p[1]))
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def split_bbox(bbox: BBox) -> list[BBox]:
    w, s, e, n = bbox
    return [bbox] if w <= e else [(w, s, 180.0, n), (-180.0, s, e, n)]


def _hits(geometry: Mapping[str, Any], b: Bounds, window: BBox) -> bool:
    w, s, e, n = window
    if b[0] > e or b[2] < w or b[1] > n or b[3] < s:
        return False
    if geometry.get("type") == "Point" or (w <= b[0] and b[2] <= e and s <= b[1] and b[3] <= n):
        return True
    return bool(shape(geometry).intersects(box(w, s, e, n)))


@dataclass(frozen=True)
class FeatureIndex:
    """One computed layer: its features (each with an id), their bounds and the collection's other members."""

    features: list[Feature]
    bounds: list[Bounds | None]
    members: dict[str, Any]
    positions: dict[str, int]

    @classmethod
    def of(cls, fc: Mapping[str, Any]) -> FeatureIndex:
        features: list[Feature] = []
        positions: dict[str, int] = {}
        for f in fc.get("features") or []:
            fid = feature_id(f)
            features.append(f if "id" in f else {"type": "Feature", "geometry": f.get("geometry"),
                                                 "properties": f.get("properties") or {}, "id": fid})
            positions.setdefault(fid, len(features) - 1)
        members = {k: v for k, v in fc.items() if k not in ("type", "features")}
        return cls(features, [bounds(f["geometry"]) for f in features], members, positions)

    def matching(self, bbox: BBox | None) -> list[int]:
        """Positions of the features whose geometry intersects `bbox` (all when None), in layer order."""
        if bbox is None:
            return list(range(len(self.features)))
        boxes = split_bbox(bbox)
        return [i for i, (f, b) in enumerate(zip(self.features, self.bounds, strict=True))
                if b is not None and f["geometry"] is not None and any(_hits(f["geometry"], b, x) for x in boxes)]

    def get(self, fid: str) -> Feature | None:
        pos = self.positions.get(fid)
        return None if pos is None else self.features[pos]


class IndexCache:
    """The last few computed layers, parsed and indexed, by the answer's ETag (which names data version,
    caller scope and question), so that paging through a layer parses it once per process."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[str, FeatureIndex] = OrderedDict()
        self._matches: OrderedDict[tuple[str, BBox | None], list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def index(self, etag: str, body: Callable[[], bytes]) -> FeatureIndex:
        with self._lock:
            hit = self._items.get(etag)
            if hit is not None:
                self._items.move_to_end(etag)
                return hit
        built = FeatureIndex.of(json.loads(body()))
        with self._lock:
            self._items[etag] = built
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return built

    def matching(self, etag: str, index: FeatureIndex, bbox: BBox | None) -> list[int]:
        key = (etag, bbox)
        with self._lock:
            hit = self._matches.get(key)
        if hit is None:
            hit = index.matching(bbox)
            with self._lock:
                self._matches[key] = hit
                while len(self._matches) > 4 * self.size:
                    self._matches.popitem(last=False)
        return hit


def items_page(index: FeatureIndex, matches: Sequence[int], query: ItemsQuery, url: str,
               args: Mapping[str, str], stamp: str) -> dict[str, Any]:
    """The page `query.offset … + limit` of the matching features of a computed layer (see `page_document`)."""
    features = [index.features[i] for i in matches[query.offset:query.offset + query.limit]]
    return page_document(features, len(matches), index.members, query, url, args, stamp)


def page_document(features: list[Feature], matched: int, members: Mapping[str, Any], query: ItemsQuery, url: str,
                  args: Mapping[str, str], stamp: str) -> dict[str, Any]:
    """The items document of one page: `features` of `matched`, numberMatched/Returned and links.

    `members` are the collection's other members (e.g. since, until), `url` is the items URL without a
    query string, `args` the request's query arguments (kept in the links, offset replaced) and
    `stamp` the response time (RFC 3339).
    """
    def href(offset: int | None) -> str:
        kept = {k: v for k, v in args.items() if k != "offset"}
        if offset:
            kept["offset"] = str(offset)
        return f"{url}?{urlencode(kept)}" if kept else url

    links = [link(href(query.offset), "self", GEOJSON, "this page"),
             link(url.rsplit("/items", 1)[0], "collection", JSON, "the collection")]
    if query.offset + query.limit < matched:
        links.append(link(href(query.offset + query.limit), "next", GEOJSON, "next page"))
    if query.offset > 0:
        links.append(link(href(max(0, query.offset - query.limit)), "prev", GEOJSON, "previous page"))
    return {"type": "FeatureCollection", **members, "features": features, "numberMatched": matched,
            "numberReturned": len(features), "timeStamp": stamp, "links": links}


def item(index: FeatureIndex, fid: str, url: str) -> dict[str, Any] | None:
    """One feature of a computed layer by id with its self and collection links, or None."""
    f = index.get(fid)
    return None if f is None else item_document(f, url)


def item_document(f: Mapping[str, Any], url: str) -> dict[str, Any]:
    """The feature `f` with its self and collection links (`url`: the feature's URL)."""
    collection_url = url.rsplit("/items/", 1)[0]
    return {**f, "links": [link(url, "self", GEOJSON, "this feature"),
                           link(collection_url, "collection", JSON, "the collection")]}
