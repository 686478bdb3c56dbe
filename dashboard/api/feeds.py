"""`GET /api/v1/feeds/influence?disease=&district=`: 影响因素分析 — weather and absenteeism vs the case series."""
from __future__ import annotations

import re
from datetime import datetime

from flask import jsonify, request
from sqlalchemy import text

from dashboard.api import bp
from dashboard.auth import current_principal, require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from feeds.influence import InfluenceError, analyse_influence
from geo.dates import CST


@bp.get("/feeds/influence")
@require_principal()
def feeds_influence():
    principal = current_principal()
    assert principal is not None
    disease = request.args.get("disease", "")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,20}", disease):
        raise ApiError(422, "invalid.disease", "disease must be a disease code", "疾病编码格式不正确", "disease")
    district = request.args.get("district") or principal.district_code or services().settings.district_code
    if not re.fullmatch(r"\d{6}", district):
        raise ApiError(422, "invalid.district", "district must be a 6-digit code", "区编码格式不正确", "district")
    if not principal.may_see_district(district):
        raise ApiError(403, "scope.forbidden", "outside your districts", "超出当前账号的数据范围", "district")
    with services().session_factory() as session:
        name = session.execute(text("SELECT name FROM disease WHERE code = :c"), {"c": disease}).scalar()
        if name is None:
            raise ApiError(404, "disease.not_found", f"unknown disease {disease}", "疾病不存在", "disease")
        try:
            result = analyse_influence(session, district_code=district, disease_code=disease,
                                       end=datetime.now(CST).date())
        except InfluenceError as exc:
            raise ApiError(422, exc.code, str(exc), exc.message_zh, "disease") from None
    return jsonify({"disease_code": disease, "disease_name": name, "district_code": district, **result.as_dict()})


def _register_docs() -> None:
    from dashboard.api.shapes import InfluenceOut, InfluenceQuery
    from dashboard.openapi import register_operation

    register_operation("/api/v1/feeds/influence", "get", "影响因素分析：气象、缺勤与病例序列", tags=("feeds 外部数据",),
                       query_model=InfluenceQuery, response_model=InfluenceOut)


_register_docs()
