"""Write validated feed records to PostGIS idempotently (upsert by source id) and describe the changes.

`write_feed` works in the caller's transaction and returns one outcome per record plus the change
events to publish after commit. It knows nothing of HTTP or Redis: the ingest pipeline calls
`write_items` (so feed kinds go through `POST /api/v1/ingest/<kind>` and the intake stream like every
other kind) and the file importers call `write_feed`. Outcomes, events and the set-based steps are
those of every intake path (store.records, store.changes, store.bulk).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from feeds.keywords import DiseaseLexicon
from feeds.places import Gazetteer
from feeds.schemas import FEED_KINDS, DrugSalesIn, OpinionItemIn, SchoolAbsenceIn, WeatherDailyIn, feed_error
from geo.crs import to_wgs84
from geo.srid import SRID
from store.bulk import BulkRun, Item, Written, unnest
from store.changes import ChangeEvent
from store.feeds import SYMPTOM_GROUPS
from store.locate import locate_points, regions_by_code
from store.records import RecordOutcome


@dataclass(kw_only=True)
class _Run(BulkRun):
    principal: Principal | None

    def refuse(self, item: Item, field: str | None, code: str, message: str) -> None:
        self.reject(item, [feed_error(field, code, message)])

    def allowed(self, district_code: str | None) -> bool:
        """Feeds belong to a district, not an institution: institution accounts may not submit them."""
        p = self.principal
        return p is None or (p.role != "institution_user" and p.may_see_district(district_code))


def write_feed(session: Session, *, kind: str, records: Sequence[tuple[int, Any]],
               principal: Principal | None = None) -> tuple[dict[int, RecordOutcome], list[ChangeEvent]]:
    """Upsert validated records `(index, model)` of `kind`; outcomes by index and the change events."""
    items = [Item(index=i, rec=rec, source_id=rec.source_id) for i, rec in records]
    return write_items(session, kind=kind, items=items, principal=principal)


def write_items(session: Session, *, kind: str, items: list[Item],
                principal: Principal | None = None) -> tuple[dict[int, RecordOutcome], list[ChangeEvent]]:
    """Upsert the validated items of `kind` (one per source id: the last sent wins, earlier ones are
    'unchanged'); outcomes by index and the change events."""
    if kind not in FEED_KINDS:
        raise ValueError(f"unknown feed kind {kind!r}")
    run = _Run(session=session, principal=principal)
    items = run.latest_per_key(items, key=lambda i: i.source_id)
    if items:
        _WRITE[kind](run, items)
    return run.outcomes, run.events


# --- shared steps --------------------------------------------------------------------------------

def _wgs84(item: Item) -> tuple[float, float] | None:
    if getattr(item.rec, "lon", None) is None:
        return None
    return _lonlat(item)


def _lonlat(item: Item) -> tuple[float, float]:
    """The item's point in WGS84 (the record has lon and lat)."""
    lon, lat = to_wgs84(item.rec.lon, item.rec.lat, item.rec.crs)
    return round(float(lon), 7), round(float(lat), 7)


def _upsert(run: _Run, table: str, columns: dict[str, str], rows: list[dict[str, Any]], *,
            point: bool = False, exprs: dict[str, str] | None = None) -> list[Any]:
    """INSERT … ON CONFLICT (source_id) DO UPDATE when something changed; the (id, source_id, inserted) rows."""
    source, params = unnest(columns, rows)
    cols = [c for c in columns if c not in ("lon", "lat")]
    select_list = [(exprs or {}).get(c, c) for c in cols]
    update = [c for c in cols if c != "source_id"] + (["geom"] if point else [])
    geom = (f", CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), {SRID}) END"
            if point else "")
    sql = f"""
        INSERT INTO {table} ({', '.join(cols)}{', geom' if point else ''})
        SELECT {', '.join(select_list)}{geom} FROM {source}
        ON CONFLICT (source_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in update)}, updated_at = now()
        WHERE ({', '.join(f'{table}.{c}' for c in update)}) IS DISTINCT FROM ({', '.join(f'excluded.{c}' for c in update)})
        RETURNING id, source_id, (xmax = 0) AS inserted"""
    return list(run.session.execute(text(sql), params))


# --- schools and pharmacies (points that register themselves) -------------------------------------

@dataclass(frozen=True)
class _Owner:
    table: str  # school | pharmacy
    code_attr: str
    name_attr: str
    unknown: str
    needs: str


_SCHOOL = _Owner("school", "school_code", "school_name", "ref.unknown_school",
                 "school_name, school_kind and a point or region_code")
_PHARMACY = _Owner("pharmacy", "pharmacy_code", "pharmacy_name", "ref.unknown_pharmacy",
                   "pharmacy_name and a point or region_code")


def _known(session: Session, spec: _Owner, codes: set[str]) -> dict[str, dict[str, Any]]:
    sql = text(f"SELECT id, code, name, district_code, region_code, ST_X(geom) AS lon, ST_Y(geom) AS lat "
               f"FROM {spec.table} WHERE code = ANY(:c)")
    return {r.code: r._asdict() for r in session.execute(sql, {"c": sorted(codes)})}


def _owners(run: _Run, items: list[Item], spec: _Owner) -> list[Item]:
    """Attach the school/pharmacy of each item (row['owner']); register unknown ones from their record."""
    known = _known(run.session, spec, {getattr(i.rec, spec.code_attr) for i in items})
    new = [i for i in items if getattr(i.rec, spec.code_attr) not in known]
    if new:
        _register(run, new, spec, known)
    kept = []
    for item in items:
        owner = known.get(getattr(item.rec, spec.code_attr))
        if item.index in run.outcomes:
            continue
        assert owner is not None  # _register gave every complete record an owner and refused the others
        if not run.allowed(owner["district_code"]):
            run.refuse(item, spec.code_attr, "scope.forbidden", "outside the caller's districts")
            continue
        item.row["owner"] = owner
        kept.append(item)
    return kept


def _register(run: _Run, items: list[Item], spec: _Owner, known: dict[str, dict[str, Any]]) -> None:
    """Create the schools/pharmacies first seen in this batch, placed by point or by street code."""
    firsts: dict[str, Item] = {}
    for item in items:
        rec = item.rec
        complete = getattr(rec, spec.name_attr) and (rec.lon is not None or rec.region_code) and \
            (spec.table != "school" or rec.school_kind)
        if complete:
            firsts.setdefault(getattr(rec, spec.code_attr), item)
    spots = locate_points(run.session, [(i.index, *_lonlat(i)) for i in firsts.values() if i.rec.lon is not None])
    regions = regions_by_code(run.session, [i.rec.region_code for i in firsts.values() if i.rec.region_code])
    rows = []
    for code, item in firsts.items():
        rec = item.rec
        placed = _place_first(run, item, spots, regions)
        if placed is None:
            continue
        street, district, point = placed
        if not run.allowed(district):
            run.refuse(item, spec.code_attr, "scope.forbidden", "outside the caller's districts")
            continue
        rows.append(dict(code=code, name=getattr(rec, spec.name_attr), kind=getattr(rec, "school_kind", None),
                         region_code=street, district_code=district, lon=point[0] if point else None,
                         lat=point[1] if point else None, demo=point is not None and rec.lon is None))
    if rows:
        kind_col = ", kind" if spec.table == "school" else ""
        kind_val = ", t.kind" if spec.table == "school" else ""
        source, params = unnest({"code": "text", "name": "text", "kind": "text", "region_code": "text",
                                  "district_code": "text", "lon": "float8", "lat": "float8", "demo": "bool"}, rows)
        run.session.execute(text(f"""
            INSERT INTO {spec.table} (code, name{kind_col}, region_code, district_code, geom, position_is_demo)
            SELECT t.code, t.name{kind_val}, t.region_code, t.district_code,
                   CASE WHEN t.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), {SRID}) END, t.demo
            FROM {source} ON CONFLICT (code) DO NOTHING"""), params)
        known.update(_known(run.session, spec, {r["code"] for r in rows}))
    for item in items:
        if item.index not in run.outcomes and getattr(item.rec, spec.code_attr) not in known:
            run.refuse(item, spec.code_attr, spec.unknown, f"{spec.code_attr} is not known; "
                                                                        f"a first record needs {spec.needs}")


def _place_first(run: _Run, item: Item, spots: dict[int, Any], regions: dict[str, Any]
                 ) -> tuple[str | None, str, tuple[float, float] | None] | None:
    """(street, district, point) of a first record, by its point or else its street; None (refused) when unknown."""
    rec, point = item.rec, _wgs84(item)
    if point is not None:
        spot = spots.get(item.index)
        if spot is None or spot.district is None:
            run.refuse(item, "lon", "geo.outside_area", "the point lies in no known district")
            return None
        return spot.street or (rec.region_code if rec.region_code in regions else None), spot.district, point
    region = regions.get(rec.region_code)
    if region is None:
        run.refuse(item, "region_code", "ref.unknown_region", "region_code is not known")
        return None
    return region.code, region.district_code, _label_point(run.session, region.code)


def _label_point(session: Session, code: str) -> tuple[float, float] | None:
    """A region's label point: where a school known only by its street is drawn (flagged as demo position)."""
    row = session.execute(text("SELECT ST_X(label_point) AS x, ST_Y(label_point) AS y FROM region WHERE code = :c"),
                          {"c": code}).first()
    return None if row is None or row.x is None else (row.x, row.y)


def _pt(owner: dict[str, Any] | None) -> list[float] | None:
    if not owner or owner.get("lon") is None:
        return None
    return [round(owner["lon"], 6), round(owner["lat"], 6)]


# --- school absenteeism ----------------------------------------------------------------------------

_ABSENCE_COLUMNS = {"source_id": "text", "school_id": "int", "district_code": "text", "day": "date",
                    "enrolled": "int", "absent": "int", "absent_ill": "int", **{g: "int" for g in SYMPTOM_GROUPS}}


def _write_absence(run: _Run, items: list[Item]) -> None:
    items = _owners(run, items, _SCHOOL)
    for item in items:
        rec: SchoolAbsenceIn = item.rec
        item.row.update(source_id=rec.source_id, school_id=item.row["owner"]["id"],
                        district_code=item.row["owner"]["district_code"], day=rec.day, enrolled=rec.enrolled,
                        absent=rec.absent, absent_ill=rec.absent_ill, **{g: getattr(rec, g) for g in SYMPTOM_GROUPS})
    if items:
        run.guarded(items, lambda chunk: run.settle(
            chunk, _upsert(run, "school_absence", _ABSENCE_COLUMNS, [i.row for i in chunk]), _absence_event))


def _absence_event(item: Item, id_: int, action: Written) -> ChangeEvent:
    row, owner = item.row, item.row["owner"]
    return ChangeEvent(
        kind="school_absence", id=id_, action=action,
        district_code=row["district_code"], region_code=owner["region_code"], geometry=_pt(owner),
        fields={"school_code": owner["code"], "school_name": owner["name"], "day": row["day"].isoformat(),
                "enrolled": row["enrolled"], "absent": row["absent"], "absent_ill": row["absent_ill"],
                "ill_rate_pct": round(100 * row["absent_ill"] / row["enrolled"], 2),
                **{g: row[g] for g in SYMPTOM_GROUPS}})


# --- drug sales -------------------------------------------------------------------------------------

_SALES_COLUMNS = {"source_id": "text", "pharmacy_id": "int", "region_code": "text", "district_code": "text",
                  "day": "date", "drug_group": "text", "units": "int"}


def _write_sales(run: _Run, items: list[Item]) -> None:
    by_pharmacy = _owners(run, [i for i in items if i.rec.pharmacy_code], _PHARMACY)
    by_street = _streets(run, [i for i in items if not i.rec.pharmacy_code])
    for item in by_pharmacy:
        owner = item.row["owner"]
        item.row.update(pharmacy_id=owner["id"], region_code=owner["region_code"],
                        district_code=owner["district_code"])
    kept = by_pharmacy + by_street
    for item in kept:
        rec: DrugSalesIn = item.rec
        item.row.update(source_id=rec.source_id, day=rec.day, drug_group=rec.drug_group, units=rec.units)
    if kept:
        run.guarded(kept, lambda chunk: run.settle(
            chunk, _upsert(run, "drug_sales", _SALES_COLUMNS, [i.row for i in chunk]), _sales_event))


def _streets(run: _Run, items: list[Item]) -> list[Item]:
    """Street totals: the street must exist; its district must be in scope."""
    regions = regions_by_code(run.session, [i.rec.region_code for i in items])
    kept = []
    for item in items:
        region = regions.get(item.rec.region_code)
        if region is None:
            run.refuse(item, "region_code", "ref.unknown_region", "region_code is not known")
        elif region.level != "street":
            run.refuse(item, "region_code", "ref.not_a_street", "region_code is not a street")
        elif not run.allowed(region.district_code):
            run.refuse(item, "region_code", "scope.forbidden", "outside the caller's districts")
        else:
            item.row.update(pharmacy_id=None, region_code=region.code, district_code=region.district_code,
                            owner=None)
            kept.append(item)
    return kept


def _sales_event(item: Item, id_: int, action: Written) -> ChangeEvent:
    row, owner = item.row, item.row.get("owner")
    return ChangeEvent(
        kind="drug_sales", id=id_, action=action,
        district_code=row["district_code"], region_code=row["region_code"], geometry=_pt(owner),
        fields={"pharmacy_code": owner["code"] if owner else None, "day": row["day"].isoformat(),
                "drug_group": row["drug_group"], "units": row["units"]})


# --- weather ----------------------------------------------------------------------------------------

_WEATHER_COLUMNS = {"source_id": "text", "district_code": "text", "day": "date", "temp_mean": "float8",
                    "temp_max": "float8", "temp_min": "float8", "humidity": "float8", "rainfall_mm": "float8"}


def _write_weather(run: _Run, items: list[Item]) -> None:
    regions = regions_by_code(run.session, [i.rec.district_code for i in items])
    kept = []
    for item in items:
        rec: WeatherDailyIn = item.rec
        region = regions.get(rec.district_code)
        if region is None or region.level != "district":
            run.refuse(item, "district_code", "ref.unknown_district", "district_code is not known")
        elif not run.allowed(rec.district_code):
            run.refuse(item, "district_code", "scope.forbidden", "outside the caller's districts")
        else:
            item.row = {c: (rec.source_id if c == "source_id" else getattr(rec, c)) for c in _WEATHER_COLUMNS}
            kept.append(item)
    if kept:
        run.guarded(kept, lambda chunk: run.settle(
            chunk, _upsert(run, "weather_daily", _WEATHER_COLUMNS, [i.row for i in chunk]), _weather_event))


def _weather_event(item: Item, id_: int, action: Written) -> ChangeEvent:
    row = item.row
    return ChangeEvent(kind="weather_daily", id=id_, action=action,
                      district_code=row["district_code"], region_code=row["district_code"], geometry=None,
                      fields={k: (v.isoformat() if k == "day" else v) for k, v in row.items() if k != "source_id"})


# --- public opinion ----------------------------------------------------------------------------------

_OPINION_COLUMNS = {"source_id": "text", "published_at": "timestamptz", "source": "text", "title": "text",
                    "excerpt": "text", "keywords": "text", "place_text": "text", "region_code": "text",
                    "district_code": "text", "lon": "float8", "lat": "float8", "matched_disease_code": "text"}
_KEYWORD_SEP = "\x1f"  # keywords travel as one text per row (unnest cannot take arrays of arrays)


def _write_opinion(run: _Run, items: list[Item]) -> None:
    gazetteer = Gazetteer.load(run.session)
    lexicon = DiseaseLexicon.load(run.session)
    spots = locate_points(run.session, [(i.index, *_lonlat(i)) for i in items if i.rec.lon is not None])
    kept = []
    for item in items:
        rec: OpinionItemIn = item.rec
        place = gazetteer.best(rec.place, rec.title, rec.excerpt, " ".join(rec.keywords))
        region = place.region_code if place else None
        district = place.district_code if place else None
        point = _wgs84(item)
        if point is not None:
            spot = spots.get(item.index)
            if spot is None or spot.district is None:
                run.refuse(item, "lon", "geo.outside_area", "the point lies in no known district")
                continue
            region, district = spot.street or spot.district, spot.district
        if district is None and run.principal is not None and not run.principal.is_city:
            district = run.principal.district_code  # unplaced items stay with the district that monitors them
        if district is not None and not run.allowed(district):
            run.refuse(item, "place", "scope.forbidden", "the item is about a district outside your scope")
            continue
        disease = lexicon.match(rec.title, rec.excerpt, " ".join(rec.keywords))
        item.row = dict(source_id=rec.source_id, published_at=rec.published_at, source=rec.source, title=rec.title,
                        excerpt=rec.excerpt, keywords=_KEYWORD_SEP.join(rec.keywords),
                        place_text=(rec.place or (place.name if place else None)), region_code=region,
                        district_code=district, lon=point[0] if point else None, lat=point[1] if point else None,
                        matched_disease_code=disease.disease_code if disease else None,
                        matched_word=disease.word if disease else None)
        kept.append(item)
    if kept:
        run.guarded(kept, lambda chunk: _write_opinion_rows(run, chunk))


def _write_opinion_rows(run: _Run, items: list[Item]) -> None:
    rows = [{c: i.row[c] for c in _OPINION_COLUMNS} for i in items]
    written = _upsert(run, "opinion_item", _OPINION_COLUMNS, rows, point=True,
                      exprs={"keywords": f"COALESCE(CAST(string_to_array(nullif(keywords, ''), chr({ord(_KEYWORD_SEP)})) "
                                         f"AS varchar(40)[]), '{{}}')"})
    # items placed by name only are drawn at the label point of their street or district
    ids = [h.id for h in written]
    if ids:
        run.session.execute(text("""UPDATE opinion_item o SET geom = r.label_point FROM region r
                                    WHERE o.id = ANY(:ids) AND o.geom IS NULL AND r.code = o.region_code"""),
                            {"ids": ids})
    run.settle(items, written, _opinion_event)


def _opinion_event(item: Item, id_: int, action: Written) -> ChangeEvent:
    row = item.row
    point = None if row["lon"] is None else [row["lon"], row["lat"]]
    return ChangeEvent(kind="opinion_item", id=id_, action=action,
                      district_code=row["district_code"], region_code=row["region_code"], geometry=point,
                      fields={"title": row["title"][:80], "source": row["source"],
                              "published_at": row["published_at"].isoformat(),
                              "matched_disease_code": row["matched_disease_code"], "matched_word": row["matched_word"]})


_WRITE: dict[str, Callable[[_Run, list[Item]], None]] = {
    "school_absence": _write_absence,
    "drug_sales": _write_sales,
    "weather_daily": _write_weather,
    "opinion_item": _write_opinion,
}
