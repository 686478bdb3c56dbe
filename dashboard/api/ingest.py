"""`POST /api/v1/ingest/<kind>`: JSON batches from institutions' software and the city platform.

Body: `{"records": [...]}` (or a bare list), at most MAX_BATCH records of one kind. The answer lists
every record's outcome in request order; 200 when all were accepted, 207 when some were refused,
422 when all were. A 2xx means the accepted records are committed in PostGIS.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify

from dashboard.api import bp
from dashboard.api.requests import json_data
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
def ingest(kind: str):
    if kind not in KINDS:
        raise ApiError(404, "ingest.unknown_kind", f"unknown kind; one of {', '.join(KINDS)}",
                       "不支持的数据类型", field="kind")
    result = store_batch(services(), kind=kind, records=_records(json_data()), principal=current_principal())
    status = 200 if result.rejected == 0 else (422 if result.accepted == 0 else 207)
    return jsonify(result.model_dump(mode="json")), status


def _register_docs() -> None:
    from dashboard.api.shapes import IngestBatchIn
    from dashboard.openapi import ErrorBody, register_operation
    from ingest.schemas import BatchResult

    register_operation("/api/v1/ingest/<kind>", "post", "批量接入（病例、症状监测、队伍、物资等，每批至多1000条）",
                       request_model=IngestBatchIn, response_model=BatchResult, tags=("ingest 数据接入",),
                       also={207: (BatchResult,), 422: (BatchResult, ErrorBody)},
                       description=f"kind: one of {', '.join(KINDS)}. 200: all accepted; 207: some refused; "
                                   "422: all refused (the batch result) or a malformed batch (ErrorBody).")


_register_docs()
