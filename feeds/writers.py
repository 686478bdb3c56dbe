"""Write validated feed records to PostGIS idempotently (upsert by source id) and describe the changes.

`write_feed` works in the caller's transaction and returns one outcome per record plus the change
events to publish after commit. It knows nothing of HTTP or Redis: the ingest pipeline calls it
through `feed_writers` (so feed kinds go through `POST /api/v1/ingest/<kind>` and the intake stream
like every other kind) and the file importers call it directly.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from accounts.principal import Principal
from feeds.keywords import DiseaseLexicon
from feeds.places import Gazetteer, locate_points, regions_by_code
from feeds.schemas import (
    FEED_KINDS,
    DrugSalesIn,
    FeedError,
    OpinionItemIn,
    SchoolAbsenceIn,
    WeatherDailyIn,
    feed_error,
)
from geo.crs import to_wgs84
from geo.srid import SRID
from store.feeds import SYMPTOM_GROUPS


@dataclass
class FeedOutcome:
    """What happened to one record: created | updated | unchanged | rejected."""

    index: int
    status: str
    source_id: str | None
    id: int | None = None
    errors: list[FeedError] = field(default_factory=list)


@dataclass
class FeedChange:
    """A committed change, shaped like ingest.events.ChangeEvent (codes, ids, counts, a point)."""

    kind: str
    id: int
    action: str
    district_code: str | None
    region_code: str | None
    geometry: list[float] | None
    fields: dict[str, Any]
    institution_id: int | None = None


@dataclass
class _Item:
    index: int
    rec: Any
    row: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    session: Session
    principal: Principal | None
    outcomes: dict[int, FeedOutcome] = field(default_factory=dict)
    changes: list[FeedChange] = field(default_factory=list)

    def reject(self, item: _Item, error: FeedError) -> None:
        self.outcomes[item.index] = FeedOutcome(item.index, "rejected", item.rec.source_id, errors=[error])

    def done(self, item: _Item, status: str, row_id: int | None) -> None:
        self.outcomes[item.index] = FeedOutcome(item.index, status, item.rec.source_id, row_id)

    def allowed(self, district_code: str | None) -> bool:
        """Feeds belong to a district, not an institution: institution accounts may not submit them."""
        p = self.principal
        return p is None or (p.role != "institution_user" and p.may_see_district(district_code))


def write_feed(session: Session, *, kind: str, records: Sequence[tuple[int, Any]],
               principal: Principal | None = None) -> tuple[dict[int, FeedOutcome], list[FeedChange]]:
    """Upsert validated records `(index, model)` of `kind`; outcomes by index and the change events."""
    if kind not in FEED_KINDS:
        raise ValueError(f"unknown feed kind {kind!r}")
    run = _Run(session, principal)
    items = _last_per_source([_Item(i, rec) for i, rec in records], run)
    if items:
        _WRITE[kind](run, items)
    return run.outcomes, run.changes


def _last_per_source(items: list[_Item], run: _Run) -> list[_Item]:
    """One record per source id (the last sent wins); earlier duplicates are 'unchanged'."""
    last = {i.rec.source_id: i for i in items}
    keep = {id(i) for i in last.values()}
    for item in items:
        if id(item) not in keep:
            run.done(item, "unchanged", None)
    return [i for i in items if id(i) in keep]


# --- shared steps --------------------------------------------------------------------------------

def _wgs84(item: _Item) -> tuple[float, float] | None:
    if getattr(item.rec, "lon", None) is None:
        return None
    lon, lat = to_wgs84(item.rec.lon, item.rec.lat, item.rec.crs)
    return round(float(lon), 7), round(float(lat), 7)


def _unnest(columns: dict[str, str], rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    casts = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in columns.items())
    return f"unnest({casts}) AS t({', '.join(columns)})", {c: [r[c] for r in rows] for c in columns}


def _guarded(run: _Run, items: list[_Item], write: Callable[[list[_Item]], None]) -> None:
    """All items in one savepoint; if the database refuses, one by one so only the culprits are rejected."""
    try:
        with run.session.begin_nested():
            write(items)
        return
    except (IntegrityError, DataError) as exc:
        if len(items) == 1:
            _reject_db(run, items[0], exc)
            return
    for item in items:
        try:
            with run.session.begin_nested():
                write([item])
        except (IntegrityError, DataError) as exc:
            _reject_db(run, item, exc)


def _reject_db(run: _Run, item: _Item, exc: Exception) -> None:
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    if "source_id" in constraint:
        run.reject(item, feed_error(None, "conflict.source_id", "source id already used by a different record"))
    else:
        run.reject(item, feed_error(None, "db.rejected", f"refused by the database ({constraint or type(exc).__name__})"))


def _upsert(run: _Run, table: str, columns: dict[str, str], rows: list[dict[str, Any]], *,
            point: bool = False, exprs: dict[str, str] | None = None) -> dict[str, Any]:
    """INSERT … ON CONFLICT (source_id) DO UPDATE when something changed; source_id → (id, inserted)."""
    source, params = _unnest(columns, rows)
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
    return {r.source_id: r for r in run.session.execute(text(sql), params)}


def _finish(run: _Run, items: list[_Item], written: dict[str, Any], event: Callable[[_Item, Any], FeedChange]) -> None:
    for item in items:
        hit = written.get(item.rec.source_id)
        if hit is None:
            run.done(item, "unchanged", None)
            continue
        run.done(item, "created" if hit.inserted else "updated", hit.id)
        run.changes.append(event(item, hit))


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


def _owners(run: _Run, items: list[_Item], spec: _Owner) -> list[_Item]:
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
        if not run.allowed(owner["district_code"]):
            run.reject(item, feed_error(spec.code_attr, "scope.forbidden", "outside the caller's districts"))
            continue
        item.row["owner"] = owner
        kept.append(item)
    return kept


def _register(run: _Run, items: list[_Item], spec: _Owner, known: dict[str, dict[str, Any]]) -> None:
    """Create the schools/pharmacies first seen in this batch, placed by point or by street code."""
    firsts: dict[str, _Item] = {}
    for item in items:
        rec = item.rec
        complete = getattr(rec, spec.name_attr) and (rec.lon is not None or rec.region_code) and \
            (spec.table != "school" or rec.school_kind)
        if complete:
            firsts.setdefault(getattr(rec, spec.code_attr), item)
    spots = locate_points(run.session, [(i.index, *_wgs84(i)) for i in firsts.values() if i.rec.lon is not None])
    regions = regions_by_code(run.session, [i.rec.region_code for i in firsts.values() if i.rec.region_code])
    rows = []
    for code, item in firsts.items():
        rec, point = item.rec, _wgs84(item)
        if point is not None:
            spot = spots.get(item.index)
            if spot is None or spot.district is None:
                run.reject(item, feed_error("lon", "geo.outside_area", "the point lies in no known district"))
                continue
            street = spot.street or (rec.region_code if rec.region_code in regions else None)
            district = spot.district
        else:
            region = regions.get(rec.region_code)
            if region is None:
                run.reject(item, feed_error("region_code", "ref.unknown_region", "region_code is not known"))
                continue
            street, district = region.code, region.district_code
            point = _label_point(run.session, region.code)
        if not run.allowed(district):
            run.reject(item, feed_error(spec.code_attr, "scope.forbidden", "outside the caller's districts"))
            continue
        rows.append(dict(code=code, name=getattr(rec, spec.name_attr), kind=getattr(rec, "school_kind", None),
                         region_code=street, district_code=district, lon=point[0] if point else None,
                         lat=point[1] if point else None, demo=point is not None and rec.lon is None))
    if rows:
        kind_col = ", kind" if spec.table == "school" else ""
        kind_val = ", t.kind" if spec.table == "school" else ""
        source, params = _unnest({"code": "text", "name": "text", "kind": "text", "region_code": "text",
                                  "district_code": "text", "lon": "float8", "lat": "float8", "demo": "bool"}, rows)
        run.session.execute(text(f"""
            INSERT INTO {spec.table} (code, name{kind_col}, region_code, district_code, geom, position_is_demo)
            SELECT t.code, t.name{kind_val}, t.region_code, t.district_code,
                   CASE WHEN t.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(t.lon, t.lat), {SRID}) END, t.demo
            FROM {source} ON CONFLICT (code) DO NOTHING"""), params)
        known.update(_known(run.session, spec, {r["code"] for r in rows}))
    for item in items:
        if item.index not in run.outcomes and getattr(item.rec, spec.code_attr) not in known:
            run.reject(item, feed_error(spec.code_attr, spec.unknown, f"{spec.code_attr} is not known; "
                                                                        f"a first record needs {spec.needs}"))


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


def _write_absence(run: _Run, items: list[_Item]) -> None:
    items = _owners(run, items, _SCHOOL)
    for item in items:
        rec: SchoolAbsenceIn = item.rec
        item.row.update(source_id=rec.source_id, school_id=item.row["owner"]["id"],
                        district_code=item.row["owner"]["district_code"], day=rec.day, enrolled=rec.enrolled,
                        absent=rec.absent, absent_ill=rec.absent_ill, **{g: getattr(rec, g) for g in SYMPTOM_GROUPS})
    if items:
        _guarded(run, items, lambda chunk: _finish(
            run, chunk, _upsert(run, "school_absence", _ABSENCE_COLUMNS, [i.row for i in chunk]), _absence_event))


def _absence_event(item: _Item, hit: Any) -> FeedChange:
    row, owner = item.row, item.row["owner"]
    return FeedChange(
        kind="school_absence", id=hit.id, action="created" if hit.inserted else "updated",
        district_code=row["district_code"], region_code=owner["region_code"], geometry=_pt(owner),
        fields={"school_code": owner["code"], "school_name": owner["name"], "day": row["day"].isoformat(),
                "enrolled": row["enrolled"], "absent": row["absent"], "absent_ill": row["absent_ill"],
                "ill_rate_pct": round(100 * row["absent_ill"] / row["enrolled"], 2),
                **{g: row[g] for g in SYMPTOM_GROUPS}})


# --- drug sales -------------------------------------------------------------------------------------

_SALES_COLUMNS = {"source_id": "text", "pharmacy_id": "int", "region_code": "text", "district_code": "text",
                  "day": "date", "drug_group": "text", "units": "int"}


def _write_sales(run: _Run, items: list[_Item]) -> None:
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
        _guarded(run, kept, lambda chunk: _finish(
            run, chunk, _upsert(run, "drug_sales", _SALES_COLUMNS, [i.row for i in chunk]), _sales_event))


def _streets(run: _Run, items: list[_Item]) -> list[_Item]:
    """Street totals: the street must exist; its district must be in scope."""
    regions = regions_by_code(run.session, [i.rec.region_code for i in items])
    kept = []
    for item in items:
        region = regions.get(item.rec.region_code)
        if region is None:
            run.reject(item, feed_error("region_code", "ref.unknown_region", "region_code is not known"))
        elif region.level != "street":
            run.reject(item, feed_error("region_code", "ref.not_a_street", "region_code is not a street"))
        elif not run.allowed(region.district_code):
            run.reject(item, feed_error("region_code", "scope.forbidden", "outside the caller's districts"))
        else:
            item.row.update(pharmacy_id=None, region_code=region.code, district_code=region.district_code,
                            owner=None)
            kept.append(item)
    return kept


def _sales_event(item: _Item, hit: Any) -> FeedChange:
    row, owner = item.row, item.row.get("owner")
    return FeedChange(
        kind="drug_sales", id=hit.id, action="created" if hit.inserted else "updated",
        district_code=row["district_code"], region_code=row["region_code"], geometry=_pt(owner),
        fields={"pharmacy_code": owner["code"] if owner else None, "day": row["day"].isoformat(),
                "drug_group": row["drug_group"], "units": row["units"]})


# --- weather ----------------------------------------------------------------------------------------

_WEATHER_COLUMNS = {"source_id": "text", "district_code": "text", "day": "date", "temp_mean": "float8",
                    "temp_max": "float8", "temp_min": "float8", "humidity": "float8", "rainfall_mm": "float8"}


def _write_weather(run: _Run, items: list[_Item]) -> None:
    regions = regions_by_code(run.session, [i.rec.district_code for i in items])
    kept = []
    for item in items:
        rec: WeatherDailyIn = item.rec
        region = regions.get(rec.district_code)
        if region is None or region.level != "district":
            run.reject(item, feed_error("district_code", "ref.unknown_district", "district_code is not known"))
        elif not run.allowed(rec.district_code):
            run.reject(item, feed_error("district_code", "scope.forbidden", "outside the caller's districts"))
        else:
            item.row = {c: (rec.source_id if c == "source_id" else getattr(rec, c)) for c in _WEATHER_COLUMNS}
            kept.append(item)
    if kept:
        _guarded(run, kept, lambda chunk: _finish(
            run, chunk, _upsert(run, "weather_daily", _WEATHER_COLUMNS, [i.row for i in chunk]), _weather_event))


def _weather_event(item: _Item, hit: Any) -> FeedChange:
    row = item.row
    return FeedChange(kind="weather_daily", id=hit.id, action="created" if hit.inserted else "updated",
                      district_code=row["district_code"], region_code=row["district_code"], geometry=None,
                      fields={k: (v.isoformat() if k == "day" else v) for k, v in row.items() if k != "source_id"})


# --- public opinion ----------------------------------------------------------------------------------

_OPINION_COLUMNS = {"source_id": "text", "published_at": "timestamptz", "source": "text", "title": "text",
                    "excerpt": "text", "keywords": "text", "place_text": "text", "region_code": "text",
                    "district_code": "text", "lon": "float8", "lat": "float8", "matched_disease_code": "text"}
_KEYWORD_SEP = "\x1f"  # keywords travel as one text per row (unnest cannot take arrays of arrays)


def _write_opinion(run: _Run, items: list[_Item]) -> None:
    gazetteer = Gazetteer.load(run.session)
    lexicon = DiseaseLexicon.load(run.session)
    spots = locate_points(run.session, [(i.index, *_wgs84(i)) for i in items if i.rec.lon is not None])
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
                run.reject(item, feed_error("lon", "geo.outside_area", "the point lies in no known district"))
                continue
            region, district = spot.street or spot.district, spot.district
        if district is None and run.principal is not None and not run.principal.is_city:
            district = run.principal.district_code  # unplaced items stay with the district that monitors them
        if district is not None and not run.allowed(district):
            run.reject(item, feed_error("place", "scope.forbidden", "the item is about a district outside your scope"))
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
        _guarded(run, kept, lambda chunk: _write_opinion_rows(run, chunk))


def _write_opinion_rows(run: _Run, items: list[_Item]) -> None:
    rows = [{c: i.row[c] for c in _OPINION_COLUMNS} for i in items]
    written = _upsert(run, "opinion_item", _OPINION_COLUMNS, rows, point=True,
                      exprs={"keywords": f"COALESCE(CAST(string_to_array(nullif(keywords, ''), chr({ord(_KEYWORD_SEP)})) "
                                         f"AS varchar(40)[]), '{{}}')"})
    # items placed by name only are drawn at the label point of their street or district
    ids = [h.id for h in written.values()]
    if ids:
        run.session.execute(text("""UPDATE opinion_item o SET geom = r.label_point FROM region r
                                    WHERE o.id = ANY(:ids) AND o.geom IS NULL AND r.code = o.region_code"""),
                            {"ids": ids})
    _finish(run, items, written, _opinion_event)


def _opinion_event(item: _Item, hit: Any) -> FeedChange:
    row = item.row
    point = None if row["lon"] is None else [row["lon"], row["lat"]]
    return FeedChange(kind="opinion_item", id=hit.id, action="created" if hit.inserted else "updated",
                      district_code=row["district_code"], region_code=row["region_code"], geometry=point,
                      fields={"title": row["title"][:80], "source": row["source"],
                              "published_at": row["published_at"].isoformat(),
                              "matched_disease_code": row["matched_disease_code"], "matched_word": row["matched_word"]})


_WRITE: dict[str, Callable[[_Run, list[_Item]], None]] = {
    "school_absence": _write_absence,
    "drug_sales": _write_sales,
    "weather_daily": _write_weather,
    "opinion_item": _write_opinion,
}


# --- the ingest pipeline's view of these kinds -----------------------------------------------------

def feed_writers(*, event: Callable[..., Any], error: Callable[..., Any]) -> dict[str, Callable[[Any, list[Any]], None]]:
    """Writers in the ingest pipeline's shape `(batch, items)`, one per feed kind.

    `event` builds the pipeline's change event and `error` its field error from keyword arguments;
    `batch` offers `.session`, `.principal`, `.reject(item, errors)`, `.done(item, status, id)` and
    `.events`; each item has `.index` and `.rec` (a validated feed model).
    """
    def writer_for(kind: str) -> Callable[[Any, list[Any]], None]:
        def write(batch: Any, items: list[Any]) -> None:
            outcomes, changes = write_feed(batch.session, kind=kind, records=[(i.index, i.rec) for i in items],
                                           principal=batch.principal)
            for item in items:
                o = outcomes[item.index]
                if o.status == "rejected":
                    batch.reject(item, [error(**e.model_dump()) for e in o.errors])
                else:
                    batch.done(item, o.status, o.id)
            batch.events.extend(event(**asdict(c)) for c in changes)
        return write
    return {kind: writer_for(kind) for kind in FEED_KINDS}
