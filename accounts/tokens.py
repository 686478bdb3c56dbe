"""Bearer tokens (personal and kiosk device): random secret shown once, SM3 hash stored."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from security.sm3 import sm3_digest
from store.accounts import ApiToken, AppUser, Org

TOKEN_PREFIX = "om_"
LAST_USED_RESOLUTION = timedelta(minutes=5)
TOKEN_KINDS = ("personal", "device")
# Hard caps on a token's lifetime; settings (PERSONAL_TOKEN_MAX_DAYS, DEVICE_TOKEN_MAX_DAYS) may only lower them.
MAX_DAYS = {"personal": 90, "device": 365}


class TokenLifetimeError(ValueError):
    """A requested lifetime beyond the cap for the token's kind."""

    def __init__(self, kind: str, cap: int) -> None:
        super().__init__(f"expires_days must be between 1 and {cap} for a {kind} token")
        self.kind, self.cap = kind, cap


def lifetime_cap(kind: str, configured: int | None = None) -> int:
    """The longest lifetime in days of a `kind` token: the hard cap, or the configured value when lower."""
    cap = MAX_DAYS[kind]
    return min(cap, configured) if configured else cap


def _hash(token: str) -> bytes:
    return sm3_digest(token.encode())


def create_token(
    session: Session, *, user_id: int, name: str, kind: str = "personal", expires_days: int | None = None,
    actor: Principal | None = None, max_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the clear token (shown once, never stored). Audited.

    Every token expires: `expires_days` defaults to the cap of its kind (`lifetime_cap(kind, max_days)`,
    pass the configured maximum as `max_days`); a longer lifetime raises TokenLifetimeError.
    """
    if kind not in TOKEN_KINDS:
        raise ValueError(f"kind must be one of {TOKEN_KINDS}")
    cap = lifetime_cap(kind, max_days)
    expires_days = cap if expires_days is None else expires_days
    if not 1 <= expires_days <= cap:
        raise TokenLifetimeError(kind, cap)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days)
    row = ApiToken(user_id=user_id, name=name[:100], kind=kind, token_hash=_hash(clear), expires_at=expires)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="token.create", object_type="api_token", object_id=str(row.id),
                 detail={"user_id": user_id, "kind": kind, "name": row.name, "expires_days": expires_days})
    return row, clear


def revoke_token(session: Session, *, token_id: int, actor: Principal | None, owner_id: int | None = None
                 ) -> int | None:
    """Revoke a token (only the owner's when `owner_id` is given); its user's id, or None if none matched. Audited.

    After the commit, call `TokenCache.forget_user` with the returned id so the revocation applies at once.
    """
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or (owner_id is not None and row.user_id != owner_id):
        return None
    row.revoked_at = datetime.now(UTC)
    audit.record(session, actor=actor, action="token.revoke", object_type="api_token", object_id=str(row.id),
                 detail={"user_id": row.user_id})
    return row.user_id


@dataclass(frozen=True)
class TokenView:
    """A token as listed (never the secret)."""

    id: int
    name: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def list_tokens(session: Session, *, user_id: int) -> list[TokenView]:
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    return [TokenView(t.id, t.name, t.kind, t.created_at, t.expires_at, t.revoked_at, t.last_used_at) for t in rows]


def principal_for_user(session: Session, user: AppUser) -> Principal:
    org = session.get(Org, user.org_id)
    assert org is not None
    return Principal(
        user_id=user.id, username=user.username, role=user.role, org_id=org.id,
        region_code=org.region_code, institution_id=org.institution_id, may_view_pii=user.may_view_pii,
    )


def principal_for_token(session: Session, clear: str, kinds: tuple[str, ...] = TOKEN_KINDS) -> Principal | None:
    """Resolve a bearer token to its user's principal; None if unknown, expired or revoked."""
    resolved = resolve_token(session, clear, kinds)
    return resolved.principal if resolved else None


class ResolvedToken(NamedTuple):
    """A valid token: whose it is, its kind, when it expires and its row id (sessions record it)."""

    principal: Principal
    kind: str
    expires_at: datetime | None
    token_id: int


def effective_expiry(kind: str, created_at: datetime | None, expires_at: datetime | None) -> datetime | None:
    """The earlier of the stored expiry and creation + the hard cap (older tokens were made without a cap)."""
    if created_at is None or kind not in MAX_DAYS:
        return expires_at
    capped = created_at + timedelta(days=MAX_DAYS[kind])
    return capped if expires_at is None else min(expires_at, capped)


def _live(kind: str, revoked_at: datetime | None, created_at: datetime | None, expires_at: datetime | None,
          is_active: bool, now: datetime) -> bool:
    expiry = effective_expiry(kind, created_at, expires_at)
    return revoked_at is None and is_active and (expiry is None or expiry > now)


def resolve_token(session: Session, clear: str, kinds: tuple[str, ...] = TOKEN_KINDS) -> ResolvedToken | None:
    """Principal, kind, expiry and id of a valid token; None if unknown, expired, revoked, disabled or another kind."""
    if not clear.startswith(TOKEN_PREFIX) or len(clear) > 200:
        return None
    # One round trip for token, user and organisation: this runs on every API call the cache misses.
    row = session.execute(
        select(ApiToken.id, ApiToken.kind, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at,
               ApiToken.created_at,
               AppUser.id.label("user_id"), AppUser.username, AppUser.role, AppUser.is_active, AppUser.may_view_pii,
               Org.id.label("org_id"), Org.region_code, Org.institution_id)
        .join(AppUser, AppUser.id == ApiToken.user_id).join(Org, Org.id == AppUser.org_id)
        .where(ApiToken.token_hash == _hash(clear))).one_or_none()
    now = datetime.now(UTC)
    if row is None or row.kind not in kinds:
        return None
    if not _live(row.kind, row.revoked_at, row.created_at, row.expires_at, row.is_active, now):
        return None
    # Recorded to the minute's precision that matters, not on every request (a write per API call
    # cost ~9 ms of each request under load).
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    principal = Principal(user_id=row.user_id, username=row.username, role=row.role, org_id=row.org_id,
                          region_code=row.region_code, institution_id=row.institution_id,
                          may_view_pii=row.may_view_pii)
    return ResolvedToken(principal, row.kind, effective_expiry(row.kind, row.created_at, row.expires_at), row.id)


def token_is_live(session: Session, token_id: int) -> bool:
    """Whether token `token_id` still stands (not revoked, not expired, its user active): sessions re-check it."""
    row = session.execute(
        select(ApiToken.kind, ApiToken.revoked_at, ApiToken.created_at, ApiToken.expires_at, AppUser.is_active)
        .join(AppUser, AppUser.id == ApiToken.user_id).where(ApiToken.id == token_id)).one_or_none()
    return row is not None and _live(row.kind, row.revoked_at, row.created_at, row.expires_at, row.is_active,
                                     datetime.now(UTC))
