"""Stock of the resource sites: movements in / out / allocated to a task, history, minimum levels, CSV import."""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from command.errors import CommandError
from gazetteer.errors import ImportRejected, RowProblem
from geo import beijing, dates
from geo.dates import CST
from store.response import ResourceSite, Stock, StockMovement

MOVEMENT_KINDS = ("in", "out", "allocate")
CSV_COLUMNS = ("site_code", "item_code", "kind", "quantity")
CSV_OPTIONAL = ("source_id", "item_name", "category", "unit", "min_level", "time", "note")
MAX_QTY = Decimal("999999999999")


@dataclass(frozen=True)
class Movement:
    """One requested change of stock; `quantity` is positive, the kind gives the sign."""

    site_id: int
    item_code: str
    kind: str
    quantity: Decimal
    task_id: int | None = None
    note: str | None = None
    time: datetime | None = None
    source_id: str | None = None


def lock_stock(session: Session, *, site_id: int, item_code: str) -> Stock | None:
    """The stock line, locked for update until the transaction ends."""
    return session.scalar(select(Stock).where(Stock.site_id == site_id, Stock.item_code == item_code)
                          .with_for_update())


def apply_movement(session: Session, m: Movement, *, field: str = "", actor: Principal | None = None,
                   ) -> StockMovement | None:
    """Change the quantity, write the history row and audit it; None when `source_id` was already applied."""
    if m.kind not in MOVEMENT_KINDS:
        raise CommandError("invalid", "stock.kind_unknown", f"kind {m.kind!r} not in {MOVEMENT_KINDS}",
                           "出入库类型无效", f"{field}kind")
    if not Decimal(0) < m.quantity <= MAX_QTY:
        raise CommandError("invalid", "stock.quantity_invalid", "quantity must be positive", "数量必须大于0",
                           f"{field}quantity")
    if m.source_id and session.scalar(select(StockMovement.id).where(StockMovement.source_id == m.source_id)):
        return None
    line = lock_stock(session, site_id=m.site_id, item_code=m.item_code)
    if line is None:
        raise CommandError("not_found", "stock.not_found", f"no item {m.item_code} at site {m.site_id}",
                           "该物资点没有此物资", f"{field}item_code")
    delta = m.quantity if m.kind == "in" else -m.quantity
    if Decimal(line.quantity) + delta < 0:
        raise CommandError("conflict", "stock.insufficient",
                           f"only {line.quantity} {line.unit} of {m.item_code} left", f"库存不足（现有{line.quantity}{line.unit}）",
                           f"{field}quantity")
    line.quantity = Decimal(line.quantity) + delta
    line.updated_at = func.now()
    row = StockMovement(source_id=m.source_id or f"ui:{uuid.uuid4().hex}", site_id=m.site_id, item_code=m.item_code,
                        kind=m.kind, delta=delta, task_id=m.task_id, time=m.time or datetime.now(UTC),
                        note=m.note)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="stock.change", object_type="stock", object_id=str(line.id),
                 district_code=_site_district(session, m.site_id),
                 detail={"site_id": m.site_id, "item_code": m.item_code, "kind": m.kind, "delta": str(delta),
                         "quantity": str(line.quantity), "task_id": m.task_id, "source_id": row.source_id})
    return row


def _site_district(session: Session, site_id: int) -> str | None:
    site = session.get(ResourceSite, site_id)
    return site.district_code if site else None


def site_in_district(session: Session, *, site_id: int, district_code: str | None, field: str = "site_id") -> ResourceSite:
    """The site, or not_found when it does not exist or belongs to another district."""
    site = session.get(ResourceSite, site_id)
    if site is None or (district_code is not None and site.district_code != district_code):
        raise CommandError("not_found", "site.not_found", f"resource site {site_id} not found", "物资点不存在", field)
    return site


def history(session: Session, *, site_id: int, item_code: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest movements of a site (optionally one item), newest first."""
    stmt = select(StockMovement).where(StockMovement.site_id == site_id)
    if item_code:
        stmt = stmt.where(StockMovement.item_code == item_code)
    rows = session.scalars(stmt.order_by(StockMovement.time.desc(), StockMovement.id.desc()).limit(limit))
    return [{"id": r.id, "item_code": r.item_code, "kind": r.kind, "delta": float(r.delta), "task_id": r.task_id,
             "time": beijing.iso(r.time), "note": r.note} for r in rows]


def levels(session: Session, *, district_code: str | None) -> list[dict[str, Any]]:
    """Every stock line of the district's sites with its minimum and a below-minimum flag."""
    rows = session.execute(text("""
        SELECT s.id, s.code, s.name, k.item_code, k.item_name, k.category, k.unit, k.quantity, k.min_level
        FROM stock k JOIN resource_site s ON s.id = k.site_id
        WHERE CAST(:d AS text) IS NULL OR s.district_code = :d
        ORDER BY s.code, k.category, k.item_code"""), {"d": district_code}).all()
    return [{"site_id": r[0], "site_code": r[1], "site_name": r[2], "item_code": r[3], "item_name": r[4],
             "category": r[5], "unit": r[6], "quantity": float(r[7]), "min_level": float(r[8]),
             "below_min": r[7] < r[8]} for r in rows]


def below_minimum_by_category(session: Session, *, district_code: str | None) -> dict[str, int]:
    """How many stock lines are below their minimum, per category."""
    rows = session.execute(text("""
        SELECT k.category, COUNT(*) FILTER (WHERE k.quantity < k.min_level)
        FROM stock k JOIN resource_site s ON s.id = k.site_id
        WHERE CAST(:d AS text) IS NULL OR s.district_code = :d GROUP BY k.category ORDER BY k.category"""),
        {"d": district_code}).all()
    return {r[0]: int(r[1]) for r in rows}


# ---------------------------------------------------------------- CSV import

def _decimal(raw: str, i: int, name: str, problems: list[RowProblem], *, required: bool = True) -> Decimal | None:
    raw = (raw or "").strip()
    if not raw:
        if required:
            problems.append(RowProblem(i, name, "value.missing", f"{name} is empty"))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        problems.append(RowProblem(i, name, "value.not_number", f"{raw!r} is not a number"))
        return None
    if not value.is_finite() or value < 0 or value > MAX_QTY:
        problems.append(RowProblem(i, name, "value.out_of_range", f"{raw} must be between 0 and {MAX_QTY}"))
        return None
    return value


def _time(raw: str, i: int, problems: list[RowProblem]) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        problems.append(RowProblem(i, "time", "value.not_datetime", f"{raw!r} is not an ISO date-time"))
        return None
    try:
        return dates.check(value if value.tzinfo else value.replace(tzinfo=CST), dates.PAST, "time")
    except dates.DateRangeError as exc:
        problems.append(RowProblem(i, "time", exc.code, exc.message))
        return None


def read_csv_rows(data: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV (BOM tolerated) after checking its header names `required`."""
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportRejected([RowProblem(None, c, "column.missing", f"column {c!r} is missing") for c in missing])
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        raise ImportRejected([RowProblem(None, None, "file.empty", "the file has no data rows")])
    return rows


_Planned = tuple[int, dict[str, str], ResourceSite, Decimal, Decimal | None, datetime | None]


def _check_row(i: int, row: dict[str, str], site: ResourceSite | None, district_code: str | None,
               seen_ids: set[str]) -> tuple[list[RowProblem], _Planned | None]:
    """Row `i`'s problems, and its planned movement when it has none; `seen_ids` collects its source_id."""
    found: list[RowProblem] = []
    if site is None or (district_code is not None and site.district_code != district_code):
        found.append(RowProblem(i, "site_code", "site.unknown", f"no resource site {row['site_code']!r} here"))
    if not row["item_code"] or len(row["item_code"]) > 40:
        found.append(RowProblem(i, "item_code", "value.invalid", "item_code must be 1–40 characters"))
    if row["kind"] not in ("in", "out"):
        found.append(RowProblem(i, "kind", "value.unknown", f"kind {row['kind']!r} must be in or out"))
    qty = _decimal(row["quantity"], i, "quantity", found)
    if qty is not None and qty == 0:
        found.append(RowProblem(i, "quantity", "value.out_of_range", "quantity must be greater than 0"))
    min_level = _decimal(row.get("min_level", ""), i, "min_level", found, required=False)
    when = _time(row.get("time", ""), i, found)
    sid = row.get("source_id", "")
    if sid and (sid in seen_ids or len(sid) > 80):
        found.append(RowProblem(i, "source_id", "value.duplicate" if sid in seen_ids else "value.too_long",
                                f"source_id {sid!r} repeated in the file or longer than 80"))
    seen_ids.add(sid)
    if found:
        return found, None
    return found, (i, row, site, qty, min_level, when)  # type: ignore[return-value]  # no problems: all set


def import_stock_csv(session: Session, data: str, *, district_code: str | None, actor: Principal | None = None) -> int:
    """Validate every row, then apply all movements in the caller's transaction; returns rows applied.

    Columns: site_code, item_code, kind (in|out), quantity; optional source_id (repeats are skipped),
    item_name/category/unit (needed for a new item), min_level, time (ISO, default now, CST if naive), note.
    """
    rows = read_csv_rows(data, CSV_COLUMNS)
    sites = {s.code: s for s in session.scalars(select(ResourceSite).where(
        ResourceSite.code.in_({r["site_code"] for r in rows})))}
    problems: list[RowProblem] = []
    planned: list[_Planned] = []
    seen_ids: set[str] = set()
    for i, row in enumerate(rows, start=1):
        found, plan = _check_row(i, row, sites.get(row["site_code"]), district_code, seen_ids)
        problems += found
        if plan is not None:
            planned.append(plan)
    if problems:
        raise ImportRejected(problems)
    applied = 0
    try:
        with session.begin_nested():
            for i, row, site, qty, min_level, when in planned:
                applied += _apply_row(session, i, row, site, qty, min_level, when, actor)
    except CommandError as exc:
        raise ImportRejected([RowProblem(exc.row, exc.field, exc.code, exc.message)]) from None
    return applied


def _apply_row(session: Session, i: int, row: dict[str, str], site: ResourceSite, qty: Decimal,
               min_level: Decimal | None, when: datetime | None, actor: Principal | None = None) -> int:
    line = lock_stock(session, site_id=site.id, item_code=row["item_code"])
    if line is None:
        if not all(row.get(c) for c in ("item_name", "category", "unit")):
            raise CommandError("invalid", "item.unknown", f"new item {row['item_code']!r} needs item_name, category, unit",
                               "新物资须填写名称、类别和单位", "item_name", row=i)
        session.add(Stock(site_id=site.id, item_code=row["item_code"], item_name=row["item_name"][:100],
                          category=row["category"][:30], unit=row["unit"][:10], quantity=0, min_level=min_level or 0))
        session.flush()
    elif min_level is not None:
        line.min_level = min_level
    try:
        done = apply_movement(session, Movement(site_id=site.id, item_code=row["item_code"], kind=row["kind"],
                                                quantity=qty, note=row.get("note") or None, time=when,
                                                source_id=row.get("source_id") or None), field="", actor=actor)
    except CommandError as exc:
        exc.row = i
        raise
    return 0 if done is None else 1
