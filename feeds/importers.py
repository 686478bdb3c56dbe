"""File importers for the feeds (CSV with a header row, or JSON): all-or-nothing.

Every row is validated first; if any row is refused, nothing is written and the error names the row
(CSV: the line number, header = line 1; JSON: the record number from 1), the field and the reason.
Formats: docs/feeds.md.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accounts.principal import Principal
from feeds.schemas import FEED_KINDS, FEED_SCHEMAS, parse_feed
from feeds.writers import write_feed
from store.changes import ChangeEvent
from store.records import FieldError

MAX_ROWS = 200_000
MAX_ERRORS = 50


@dataclass(frozen=True)
class RowError:
    """A refused row: where (CSV line or JSON record number), which field, why."""

    row: int
    field: str | None
    code: str
    message: str
    message_zh: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field or '-'}: {self.code}: {self.message}（{self.message_zh}）"


class FeedImportRejected(Exception):
    """The file was refused and nothing was written; `errors` lists the first refused rows."""

    def __init__(self, errors: list[RowError], total_errors: int | None = None) -> None:
        self.errors = errors
        self.total_errors = total_errors if total_errors is not None else len(errors)
        more = f" (and {self.total_errors - len(errors)} more)" if self.total_errors > len(errors) else ""
        super().__init__("; ".join(str(e) for e in errors[:5]) + more)


@dataclass
class ImportReport:
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[ChangeEvent] = field(default_factory=list)


def read_rows(data: str, *, fmt: str) -> list[tuple[int, Any]]:
    """(row number, raw record) pairs from CSV or JSON text; blank CSV cells are left out."""
    if fmt == "json":
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise FeedImportRejected([RowError(0, None, "file.bad_json", f"not valid JSON: {exc}",
                                               "文件不是有效的 JSON")]) from None
        records = body.get("records") if isinstance(body, dict) else body
        if not isinstance(records, list):
            raise FeedImportRejected([RowError(0, "records", "file.not_a_list", 'JSON must be a list or '
                                               '{"records": [...]}', "JSON 应为记录数组或 {\"records\": [...]}")])
        return list(enumerate(records, start=1))
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}")
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    rows = []
    for record in reader:
        line = reader.line_num
        if None in record:
            raise FeedImportRejected([RowError(line, None, "file.extra_cells", "more cells than header columns",
                                               "该行单元格多于表头列数")])
        cleaned = {k.strip(): v.strip() for k, v in record.items() if k and v is not None and v.strip() != ""}
        if cleaned:
            rows.append((line, cleaned))
    return rows


def _check_header(kind: str, rows: list[tuple[int, Any]]) -> None:
    allowed = set(FEED_SCHEMAS[kind].model_fields)
    for row, raw in rows:
        unknown = sorted(set(raw) - allowed) if isinstance(raw, dict) else []
        if unknown:
            raise FeedImportRejected([RowError(row, unknown[0], "file.unknown_column", f"unknown column {unknown[0]!r}",
                                               f"不支持的列 {unknown[0]}")])


def import_rows(session: Session, *, kind: str, rows: list[tuple[int, Any]],
                principal: Principal | None = None) -> ImportReport:
    """Validate every row, then write them all in a savepoint of the caller's transaction, or nothing."""
    if kind not in FEED_KINDS:
        raise ValueError(f"unknown feed kind {kind!r}; one of {', '.join(FEED_KINDS)}")
    if not rows:
        raise FeedImportRejected([RowError(0, None, "file.empty", "the file holds no records", "文件中没有记录")])
    if len(rows) > MAX_ROWS:
        raise FeedImportRejected([RowError(0, None, "file.too_large", f"at most {MAX_ROWS} rows", "文件行数过多")])
    _check_header(kind, rows)
    errors: list[RowError] = []
    valid: list[tuple[int, Any]] = []
    for i, (row, raw) in enumerate(rows):
        rec, errs = parse_feed(kind, raw)
        errors += [_row_error(row, e) for e in errs]
        if rec is not None:
            valid.append((i, rec))
    if errors:
        raise FeedImportRejected(errors[:MAX_ERRORS], len(errors))
    savepoint = session.begin_nested()
    outcomes, changes = write_feed(session, kind=kind, records=valid, principal=principal)
    refused = [_row_error(rows[i][0], e) for i, o in sorted(outcomes.items()) for e in o.errors]
    if refused:
        savepoint.rollback()
        raise FeedImportRejected(refused[:MAX_ERRORS], len(refused))
    savepoint.commit()
    report = ImportReport(kind=kind, rows=len(rows), changes=changes)
    for o in outcomes.values():
        setattr(report, o.status, getattr(report, o.status) + 1)
    return report


def _row_error(row: int, e: FieldError) -> RowError:
    return RowError(row, e.field, e.code, e.message, e.message_zh)


def import_file(session: Session, *, kind: str, path: Path, principal: Principal | None = None) -> ImportReport:
    """Import a .csv or .json file of `kind` (UTF-8) all-or-nothing; see `import_rows`."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "json"):
        raise FeedImportRejected([RowError(0, None, "file.format", "the file must end in .csv or .json",
                                           "文件须为 .csv 或 .json")])
    try:
        data = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FeedImportRejected([RowError(0, None, "file.encoding", "the file is not UTF-8", "文件不是 UTF-8 编码")]) \
            from None
    return import_rows(session, kind=kind, rows=read_rows(data, fmt=fmt), principal=principal)

