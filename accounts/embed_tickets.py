"""Embed tickets: how the city platform frames /embed/<page> without putting a token in a URL.

The city platform (a signed `city_api` client) asks for a ticket for one page and one region; the
ticket lives in Redis for at most a minute and is spent by its first use (GETDEL). Only the SM3
digest of the ticket is a Redis key, never the ticket itself. Redeeming it starts a view-only session.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis

from accounts.principal import Principal
from core.errors import DomainError, Kind
from security.sm3 import sm3_digest

TICKET_PREFIX = "et_"
EMBED_PAGES = ("monitor", "command")
MAX_TTL_SECONDS = 60
REGION_RE = re.compile(r"^\d{6}(\d{3})?$")
EMBED_ROLE = "wall_kiosk"  # the read-only, never-personal-data district view


class EmbedTicketError(DomainError, ValueError):
    """A ticket request the city platform must fix (or may not make); `field` names the offending input."""

    def __init__(self, code: str, message: str, message_zh: str, field: str, kind: Kind = "invalid") -> None:
        super().__init__(kind, code, message, message_zh, field)


@dataclass(frozen=True)
class EmbedGrant:
    """What a redeemed ticket allows: one page of one region, on behalf of the issuing client user."""

    page: str
    region: str
    issuer_user_id: int


def _key(namespace: str, ticket: str) -> str:
    return f"{namespace}:embed-ticket:{sm3_digest(ticket.encode()).hex()}"


def check_request(issuer: Principal, *, page: str, region: str) -> None:
    """Raise EmbedTicketError unless `issuer` may have a ticket for `page` of `region`."""
    if page not in EMBED_PAGES:
        raise EmbedTicketError("embed.bad_page", f"page must be one of {', '.join(EMBED_PAGES)}",
                               "页面须为 monitor 或 command", "page")
    if not REGION_RE.match(region or ""):
        raise EmbedTicketError("embed.bad_region", "region must be a 6- or 9-digit region code",
                               "区域代码须为 6 位或 9 位数字", "region")
    if not issuer.may_see_district(region[:6]):
        raise EmbedTicketError("embed.region_out_of_scope", "region is outside the client's scope",
                               "无权查看该区域", "region", kind="forbidden")


def issue_ticket(client: redis.Redis, namespace: str, issuer: Principal, *, page: str, region: str,
                 ttl_seconds: int = MAX_TTL_SECONDS) -> tuple[str, datetime]:
    """A fresh single-use ticket and its expiry (TTL capped at 60 s)."""
    check_request(issuer, page=page, region=region)
    ttl = max(1, min(int(ttl_seconds), MAX_TTL_SECONDS))
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    body = json.dumps({"page": page, "region": region, "issuer_user_id": issuer.user_id})
    if not client.set(_key(namespace, ticket), body, nx=True, ex=ttl):
        raise RuntimeError("embed ticket collision")  # 256 random bits: does not happen
    return ticket, datetime.now(UTC) + timedelta(seconds=ttl)


def redeem_ticket(client: redis.Redis, namespace: str, ticket: str) -> EmbedGrant | None:
    """Spend a ticket (whatever happens next, it cannot be used again); None if unknown, used or expired."""
    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > 100:
        return None
    raw = client.getdel(_key(namespace, ticket))
    if raw is None:
        return None
    body = json.loads(raw)
    return EmbedGrant(body["page"], body["region"], int(body["issuer_user_id"]))


def embed_principal(issuer: Principal, grant: EmbedGrant) -> Principal:
    """The session's principal: the issuer's identity, narrowed to a read-only view of the granted district."""
    return Principal(user_id=issuer.user_id, username=issuer.username, role=EMBED_ROLE, org_id=issuer.org_id,
                     region_code=grant.region[:6], institution_id=None, may_view_pii=False)
