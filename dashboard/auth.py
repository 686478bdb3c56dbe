"""Request authentication: bearer token, SM2-signed client or browser session → Principal; roles enforced."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import ParamSpec, TypeVar

import redis
from flask import g, request, session
from sqlalchemy import select

from accounts.principal import Principal
from accounts.request_signing import H_SIGNATURE, SignatureError, verify_request
from accounts.sessions import SessionStore, WebSession
from accounts.token_cache import TokenCache
from accounts.tokens import principal_for_user, resolve_token, token_is_live
from dashboard.errors import ApiError
from dashboard.extensions import services
from store.accounts import ApiClient, AppUser

P = ParamSpec("P")
R = TypeVar("R")
DEVICE_IDLE_MINUTES = 12 * 60  # an unattended video wall keeps its session while it is in use
BEARER_KINDS = ("personal",)  # a kiosk device token only opens the wall's view-only session, never the API


def session_store(*, device: bool = False) -> SessionStore:
    svc = services()
    minutes = DEVICE_IDLE_MINUTES if device else svc.settings.session_idle_minutes
    return SessionStore(svc.redis, svc.settings.redis_namespace, minutes)


def web_session() -> WebSession | None:
    """The browser's live session (idle timer refreshed), cached on `g`."""
    if "web_session" not in g:
        sid = session.get("sid")
        ws = None
        if sid:
            store = session_store(device=session.get("device", False))
            ws = store.load(sid)
            if ws is not None and not _origin_still_valid(ws):
                store.destroy(sid)
                ws = None
            if ws is None:  # expired or revoked: forget it
                session.pop("sid", None)
        g.web_session = ws
    return g.web_session


def _origin_still_valid(ws: WebSession) -> bool:
    """Re-check what a view-only session was born from on every request: the device token (not revoked,
    not expired, user active) or the embed ticket's issuing client user (active city_api)."""
    if ws.method == "device" and ws.token_id is None:
        return False  # started before sessions recorded their token: cannot be re-checked, so it ends
    if ws.token_id is None and ws.method != "embed":
        return True
    with services().session_factory() as db:
        if ws.token_id is not None:
            return token_is_live(db, ws.token_id)
        user = db.get(AppUser, ws.principal.user_id)
        return user is not None and user.is_active and user.role == "city_api"


def auth_method() -> str | None:
    """How this request authenticates: 'bearer', 'signed', 'session' or None."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return "bearer"
    if request.headers.get(H_SIGNATURE):
        return "signed"
    return "session" if session.get("sid") else None


def current_principal() -> Principal | None:
    """The caller of this request (bearer token, signed client or logged-in session), cached on `g`."""
    if "principal" in g:
        return g.principal
    principal = None
    method = auth_method()
    if method == "bearer":
        principal = _bearer_principal(request.headers["Authorization"][7:].strip())
    elif method == "signed":
        principal = _signed_principal()
    elif method == "session":
        ws = web_session()
        principal = _session_principal(ws) if ws else None
    g.principal = principal
    return principal


def _session_principal(ws: WebSession) -> Principal:
    """The session's principal; view-only sessions (embeds, kiosks) never carry the personal-data right,
    so they get masked identities and grid-snapped case locations whatever their user may see."""
    if ws.view_only and ws.principal.may_view_pii:
        return replace(ws.principal, may_view_pii=False)
    return ws.principal


def token_cache() -> TokenCache:
    svc = services()
    return TokenCache(svc.redis, svc.settings.redis_namespace)


def _bearer_principal(clear: str) -> Principal | None:
    """The token's principal: from the one-minute cache, else the database (then cached)."""
    cache = token_cache()
    try:
        hit = cache.get(clear)
    except redis.RedisError:
        hit = None
    if hit is not None:
        return hit[0] if hit[1] in BEARER_KINDS else None
    with services().session_factory() as db:
        resolved = resolve_token(db, clear, kinds=BEARER_KINDS)
        db.commit()
    if resolved is None:
        return None
    principal, kind, expires_at, _ = resolved
    with contextlib.suppress(redis.RedisError):  # the next call asks the database again
        cache.put(clear, principal, kind, expires_at)
    return principal


def require_principal(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Reject with 401 when unauthenticated and 403 when the role is not among `roles`."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
            if principal is None:
                raise ApiError(401, "auth.required", "authentication required", "需要登录或有效的访问令牌")
            if roles and principal.role not in roles:
                raise ApiError(403, "auth.forbidden_role", f"role {principal.role} may not do this",
                               "当前角色无权执行此操作")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _lookup_client_key(key_id: str) -> str | None:
    with services().session_factory() as db:
        client = db.scalar(select(ApiClient).where(ApiClient.key_id == key_id, ApiClient.is_active.is_(True)))
        return client.sm2_public_key if client else None


def _spend_nonce(nonce_key: str, ttl: int) -> bool:
    svc = services()
    return bool(svc.redis.set(f"{svc.settings.redis_namespace}:sig-nonce:{nonce_key}", b"1", nx=True, ex=ttl))


def _signed_principal() -> Principal:
    """Verify the request's SM2 signature; the client's user (role city_api) is the principal."""
    path = request.full_path if request.query_string else request.path
    try:
        key_id = verify_request(headers=request.headers, method=request.method, path=path,
                                body=request.get_data(cache=True), lookup_public_key=_lookup_client_key,
                                nonce_store=_spend_nonce)
    except SignatureError as exc:
        raise ApiError(401, exc.code, str(exc), exc.message_zh) from None
    with services().session_factory() as db:
        client = db.scalar(select(ApiClient).where(ApiClient.key_id == key_id))
        user = db.get(AppUser, client.user_id) if client else None
        if user is None or not user.is_active or user.role != "city_api":
            raise ApiError(401, "sig.unknown_key", "client has no active city_api user", "签名客户端未绑定有效账号")
        return principal_for_user(db, user)


def require_signed_client() -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept only SM2-signed requests of a registered API client; sets g.principal."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if auth_method() != "signed":
                raise ApiError(401, "sig.missing", "this endpoint needs an SM2-signed request", "该接口需要SM2签名请求")
            if "principal" not in g:
                g.principal = _signed_principal()
            return view(*args, **kwargs)

        return wrapper

    return decorate
