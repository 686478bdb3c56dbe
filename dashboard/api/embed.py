"""`POST /api/v1/embed/tickets`: the city platform's single-use ticket to frame /embed/<page> (signed only)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from accounts.embed_tickets import issue_ticket
from dashboard.api import bp
from dashboard.auth import current_principal, require_signed_client
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import register_operation


class EmbedTicketRequest(BaseModel):
    """Which page of which region the city wants to frame."""

    model_config = ConfigDict(extra="forbid")
    page: Literal["monitor", "command"]
    region: str = Field(pattern=r"^\d{6}(\d{3})?$", description="6-digit district or 9-digit street code")


class EmbedTicketOut(BaseModel):
    """Open `/embed/<page>?ticket=<ticket>` once, before `expires_at`."""

    ticket: str
    expires_at: datetime
    url: str


@bp.post("/embed/tickets")
@require_signed_client()
def create_embed_ticket():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid.json", "body must be a JSON object", "请求体须为 JSON 对象")
    body = EmbedTicketRequest.model_validate(data)
    issuer = current_principal()
    assert issuer is not None
    svc = services()
    ticket, expires = issue_ticket(svc.redis, svc.settings.redis_namespace, issuer, page=body.page,
                                   region=body.region, ttl_seconds=svc.settings.embed_ticket_seconds)
    out = EmbedTicketOut(ticket=ticket, expires_at=expires, url=f"/embed/{body.page}?ticket={ticket}")
    resp = jsonify(out.model_dump(mode="json"))
    resp.status_code = 201
    return resp


register_operation("/api/v1/embed/tickets", "post", "签发嵌入票据（市级平台，SM2 签名；单次有效，≤60 秒）",
                   request_model=EmbedTicketRequest, response_model=EmbedTicketOut, tags=("embed 嵌入",),
                   status=201, auth=("sm2",))
