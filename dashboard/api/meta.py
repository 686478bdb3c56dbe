"""Who am I: the caller's identity and scope."""
from __future__ import annotations

from flask import jsonify

from dashboard.api import bp
from dashboard.auth import current_principal, require_principal


@bp.get("/me")
@require_principal()
def me():  # type: ignore[no-untyped-def]
    p = current_principal()
    assert p is not None
    return jsonify({"username": p.username, "role": p.role, "region_code": p.region_code,
                    "institution_id": p.institution_id})
