"""`POST /api/v1/ingest/<kind>`: JSON batches from institutions' software and the city platform.

Body: `{"records": [...]}` (or a bare list), at most MAX_BATCH records of one kind. The answer lists
every record's outcome in request order; 200 when all were accepted, 207 when some were refused,
422 when all were. A 2xx means the accepted records are committed in PostGIS.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request

from dashboard.api import bp
from dashboard.auth import current_principal, require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from ingest.schemas import KINDS
from ingest.writers import store_batch

MAX_BATCH = 1000
INGEST_ROLES = ("institution_user", "district_commander", "district_analyst", "city_admin", "city_api")


def _records(body: Any) -> list[Any]:
    records = body.get("records") if isinstance(body, dict) else body
    if not isinstance(records, list):
        raise ApiError(422, "batch.not_a_list", "body must be {\"records\": [...]} or a JSON list",
                       "请求体应为 {\"records\": [...]} 或记录数组", field="records")
    if not records:
        raise ApiError(422, "batch.empty", "the batch holds no records", "批次中没有记录", field="records")
    if len(records) > MAX_BATCH:
        raise ApiError(413, "batch.too_large", f"at most {MAX_BATCH} records per batch",
                       f"每批最多 {MAX_BATCH} 条记录", field="records")
    return records


@bp.post("/ingest/<kind>")
@require_principal(*INGEST_ROLES)
def ingest(kind: str):  # type: ignore[no-untyped-def]
    if kind not in KINDS:
        raise ApiError(404, "ingest.unknown_kind", f"unknown kind; one of {', '.join(KINDS)}",
                       "不支持的数据类型", field="kind")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "invalid.json", "body must be JSON (Content-Type: application/json)",
                       "请求体须为 JSON")
    result = store_batch(services(), kind=kind, records=_records(body), principal=current_principal())
    status = 200 if result.rejected == 0 else (422 if result.accepted == 0 else 207)
    return jsonify(result.model_dump(mode="json")), status
