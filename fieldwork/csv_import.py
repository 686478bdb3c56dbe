"""A CSV file of contacts for one investigation: every row valid or nothing written.

Columns (UTF-8, optional BOM, header row first): record_id, degree, name, id_number, phone,
last_exposure_date, note, and where the contact lives or was met: street (9-digit code),
lon, lat, crs (WGS84 by default); empty cells are absent values. A bad row is refused naming its 1-based data row
and the field; identities are never echoed in the refusal.
"""
from __future__ import annotations

import csv
import io

from pydantic import ValidationError

from fieldwork.errors import FieldworkError, refuse
from fieldwork.models import ContactIn
from store.records import SHARED_ZH, errors_of

COLUMNS = ("record_id", "degree", "name", "id_number", "phone", "last_exposure_date", "note", "street", "lon", "lat",
           "crs")
REQUIRED = ("record_id",)
MAX_ROWS = 1000
MAX_BYTES = 2_000_000
_ZH = {**SHARED_ZH, "id_number_format": "身份证号格式不正确", "id_number_checksum": "身份证号校验位错误"}


def _reader(data: bytes) -> csv.DictReader[str]:
    if len(data) > MAX_BYTES:
        raise refuse("invalid", "file_too_large", f"the file exceeds {MAX_BYTES} bytes", "文件过大", "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("invalid", "file_encoding", "the file must be UTF-8 text", "文件须为 UTF-8 编码的文本",
                     "file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        bad = (unknown or missing)[0]
        raise refuse("invalid", "file_columns", f"column {bad!r} is {'unknown' if unknown else 'missing'}",
                     f"列 {bad} {'不在允许的列中' if unknown else '缺失'}（允许：{'、'.join(COLUMNS)}）", bad)
    return reader


def _row_error(row: int, exc: ValidationError) -> FieldworkError:
    first = errors_of(exc, _ZH)[0]
    return FieldworkError("invalid", first.code, f"row {row}: {first.field}: {first.message}",
                          f"第 {row} 行 {first.field}：{first.message_zh}", first.field, row)


def parse_contacts(data: bytes) -> list[ContactIn]:
    """Every row as a ContactIn; the first bad row refuses the whole file (DomainError with row and field)."""
    contacts: list[ContactIn] = []
    for row, raw in enumerate(_reader(data), start=1):
        if row > MAX_ROWS:
            raise refuse("invalid", "too_many_rows", f"at most {MAX_ROWS} rows", f"最多 {MAX_ROWS} 行", "file", row)
        if None in raw:
            raise refuse("invalid", "row_columns", f"row {row} has more cells than the header",
                         f"第 {row} 行的列数多于表头", None, row)
        values = {k: v.strip() for k, v in raw.items() if v is not None and v.strip()}
        try:
            contacts.append(ContactIn.model_validate(values))
        except ValidationError as exc:
            raise _row_error(row, exc) from None
    if not contacts:
        raise refuse("invalid", "file_empty", "the file holds no rows", "文件中没有数据行", "file")
    return contacts
