"""`POST /api/v1/reference/<kind>`: reference data the city platform sends down (SM2-signed; issue 19).

kind: regions, institutions or diseases. Body `{"records": [...]}` (at most 1000). The answer lists every
record's outcome in request order (created, updated, duplicate, stale or rejected with its field errors);
200 when none was rejected, 207 when some were, 422 when all were. Accepted records are committed.
"""
from __future__ import annotations

from flask import jsonify

from dashboard.api import bp
from dashboard.api.requests import announce_bulk_committed, caller, in_transaction, json_body
from dashboard.auth import require_signed_client
from dashboard.errors import ApiError
from dashboard.openapi import ErrorBody, register_operation
from exchange.landing import land_batch
from exchange.reference_schema import KINDS, ReferenceBatchIn, ReferenceResult


@bp.post("/reference/<kind>")
@require_signed_client()
def land_reference(kind: str):
    if kind not in KINDS:
        raise ApiError(404, "reference.unknown_kind", f"unknown kind; one of {', '.join(KINDS)}",
                       "不支持的参考数据类型", field="kind")
    body, actor = json_body(ReferenceBatchIn), caller()
    result = in_transaction(lambda s: land_batch(s, kind=kind, records=body.records, actor=actor))
    if any(r.status in ("created", "updated") for r in result.results):
        announce_bulk_committed()  # institutions, regions, diseases are read by cached layers and lists
    status = 200 if result.rejected == 0 else (422 if result.accepted == 0 else 207)
    return jsonify(result.model_dump(mode="json")), status


register_operation("/api/v1/reference/<kind>", "post", "市级平台下发参考数据（区划、机构名录、病种目录；SM2签名，按版本幂等）",
                   request_model=ReferenceBatchIn, response_model=ReferenceResult, tags=("exchange 数据交换",),
                   auth=("sm2",), also={207: (ReferenceResult,), 422: (ReferenceResult, ErrorBody)},
                   description=f"kind: one of {', '.join(KINDS)}. Each record carries version and changed_at: "
                               "a version already held answers duplicate, an older one stale, a newer one lands. "
                               "200: none rejected; 207: some rejected; 422: all rejected or a malformed batch.")
