"""`POST /api/v1/cases/<id>/identity`: show a patient's identity in clear (查看身份信息), purpose stated, audited.

Only users whose role may see personal data and who hold `may_view_pii` get the clear values; the
purpose they state is written into the `pii.view` audit row with who, which case, when and from
where. Masked roles get 403 (audited as `pii.denied`), cases outside the caller's scope 404
(audited as `scope.denied`), so their existence is not revealed.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounts import audit
from accounts.pii_view import PiiAccessDenied, present_identity
from accounts.scope import ScopeError
from dashboard.api import bp
from dashboard.api.requests import MAX_BIGINT, caller
from dashboard.audit_trail import audit_denied
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import register_operation
from store.cases import CaseReport

IDENTITY_LIMIT = "30/minute"  # per user: clear identity is looked at case by case, never harvested


class IdentityRequest(BaseModel):
    """Why the identity is needed (e.g. 流调电话回访); kept in the audit trail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    purpose: str = Field(min_length=4, max_length=200)


class IdentityFields(BaseModel):
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class IdentityOut(BaseModel):
    case_id: int
    identity: IdentityFields
    purpose: str


register_operation("/api/v1/cases/<int:case_id>/identity", "post", "查看身份信息（须填写用途，留审计记录）",
                   request_model=IdentityRequest, response_model=IdentityOut, tags=("cases",),
                   description="Clear name, ID number, phone and address of one case for users with the "
                               "personal-data right; 403 for masked roles; every call is audited with its purpose.")


def _purpose(body: Any) -> str:
    if not isinstance(body, dict):
        raise ApiError(422, "identity.purpose_required", "body must be a JSON object with a purpose",
                       "请填写查看身份信息的用途", "purpose")
    try:
        return IdentityRequest.model_validate(body).purpose
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors(include_url=False)[0]["loc"]) or "purpose"
        raise ApiError(422, "identity.purpose_invalid", "purpose must be 4–200 characters of text",
                       "用途须为 4–200 个字符的文字说明", field) from None


def _not_found(case_id: int) -> ApiError:
    return ApiError(404, "case.not_found", f"case {case_id} not found", "病例不存在", "case_id")


@bp.post("/cases/<int:case_id>/identity")
@require_principal()
def case_identity(case_id: int):
    principal = caller()
    purpose = _purpose(request.get_json(silent=True))
    from dashboard.security_headers import hit_limit  # the limiter lives with the other web hardening

    hit_limit("identity", IDENTITY_LIMIT, f"user:{principal.user_id}")
    svc = services()
    if svc.cipher is None:
        raise ApiError(503, "pii.cipher_unavailable", "no PII key configured", "未配置个人信息密钥")
    with svc.session_factory() as db:
        case = db.get(CaseReport, case_id) if 1 <= case_id <= MAX_BIGINT else None
        if case is None:
            raise _not_found(case_id)
        try:
            shown = present_identity(db, case=case, cipher=svc.cipher, principal=principal, clear=True,
                                     purpose=purpose, ip=audit.client_address())
        except ScopeError:
            audit_denied(principal, "scope.denied", object_type="case_report", object_id=str(case_id),
                         district_code=case.district_code, detail={"request": "identity"})
            raise _not_found(case_id) from None
        except PiiAccessDenied:
            audit_denied(principal, "pii.denied", object_type="case_report", object_id=str(case_id),
                         district_code=case.district_code, detail={"purpose": purpose})
            raise ApiError(403, PiiAccessDenied.code, "this account may not view identity in clear",
                           PiiAccessDenied.message_zh) from None
        db.commit()
    shown.pop("masked", None)
    return jsonify({"case_id": case_id, "identity": shown, "purpose": purpose})
