"""Web hardening: page login guard, CSRF, cookies, strict CSP, security headers and rate limits."""
from __future__ import annotations

import contextlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote, urlsplit

from dash import Dash
from flask import Flask, Response, current_app, g, jsonify, redirect, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from werkzeug.middleware.proxy_fix import ProxyFix

from accounts.audit import AuditSigner, reset_client_address, set_checkpoint_signer, set_client_address
from config.runtime import limiter_storage
from dashboard.auth import auth_method, current_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from security.secrets import parse_sm2_private_key

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_COOKIE = "_csrf_token"  # read by dash-renderer, sent back as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
PUBLIC_PREFIXES = ("/login", "/logout", "/healthz", "/assets/", "/_dash-component-suites/", "/_favicon.ico",
                   "/favicon.ico", "/api/", "/ogc/")  # /api/ and /ogc/ views answer 401 themselves
DASH_XHR_PREFIXES = ("/_dash-", "/_reload-hash")
TILE_PREFIXES = ("/basemap/",)  # map tiles: 401 when not logged in, not a redirect
# Static files (no personal data) may be cached; everything else is sent with Cache-Control: no-store.
CACHEABLE_PREFIXES = ("/assets/", "/_dash-component-suites/", "/reports/vendor/", "/_favicon.ico", "/favicon.ico")
# Answers cached by data version that the view sends with an ETag and its own Cache-Control (private, no-cache:
# stored by the browser, revalidated every time, 304 when unchanged): vector tiles and OGC items.
REVALIDATED_PREFIXES = ("/api/v1/tiles/", "/ogc/collections/")
LIMITER_KEY = "onemap_limiter"


def csrf_token() -> str:
    """This browser's CSRF token (kept in the signed session cookie), created on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def rotate_csrf() -> str:
    session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def client_ip() -> str:
    return request.remote_addr or "-"


def _bind_client_address() -> None:
    """Audit rows recorded during this request carry the client's address (after ProxyFix)."""
    g.audit_address_token = set_client_address(client_ip())


def _unbind_client_address(_exc: BaseException | None) -> None:
    token = g.pop("audit_address_token", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # created in another context (streamed response): nothing to undo here
            reset_client_address(token)


def _is_public(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in PUBLIC_PREFIXES)


def _guard_pages() -> Any:
    """Pages and Dash callbacks need a logged-in session; pages redirect to /login."""
    path = request.path
    if _is_public(path) or current_principal() is not None:
        return None
    if path.startswith(DASH_XHR_PREFIXES + TILE_PREFIXES):
        return _error(ApiError(401, "auth.required", "login required", "需要登录"))
    target = request.full_path.rstrip("?")
    return redirect(f"/login?next={quote(target, safe='')}", code=302)


def _check_csrf() -> Any:
    """Cookie-authenticated state changes must echo the CSRF token; bearer and signed calls are exempt."""
    method = auth_method()
    if request.method in SAFE_METHODS or method in ("bearer", "signed"):
        return None
    if method is None and request.path.startswith("/api/"):
        return None  # unauthenticated: the view answers 401
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if expected and sent and hmac.compare_digest(str(expected), str(sent)):
        return None
    return _error(ApiError(403, "csrf.invalid", "missing or invalid CSRF token", "表单已失效，请刷新页面后重试"))


def _error(err: ApiError) -> Response:
    resp = jsonify(err.body())
    resp.status_code = err.status
    resp.headers.update(err.headers)
    return resp


def build_csp(app: Flask, dash_app: Dash, *, frame_ancestors: str) -> str:
    """script-src admits only our files and the hashes of Dash's own inline scripts."""
    settings = services().settings
    if "ONEMAP_CSP_HASHES" not in app.config:  # after every page registered its clientside callbacks
        app.config["ONEMAP_CSP_HASHES"] = " ".join(dash_app.csp_hashes())
    hashes = app.config["ONEMAP_CSP_HASHES"]
    img = "'self' data: blob:"
    if settings.basemap_url:
        parts = urlsplit(settings.basemap_url.replace("{", "").replace("}", ""))
        if parts.scheme and parts.netloc:
            img += f" {parts.scheme}://{parts.netloc}"
    return "; ".join([
        "default-src 'self'", f"script-src 'self' {hashes}", "style-src 'self' 'unsafe-inline'",
        f"img-src {img}", "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", f"frame-ancestors {frame_ancestors}",
    ])


def _headers(app: Flask, dash_app: Dash, resp: Response) -> Response:
    city = services().settings.city_origin.strip()
    embeddable = request.path.startswith("/embed/") and city
    resp.headers["Content-Security-Policy"] = build_csp(app, dash_app, frame_ancestors=city if embeddable else "'none'")
    if not embeddable:
        resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        resp.headers["Strict-Transport-Security"] = "max-age=31536000"
    revalidated = request.path.startswith(REVALIDATED_PREFIXES) and "ETag" in resp.headers
    if not (request.path.startswith(CACHEABLE_PREFIXES + TILE_PREFIXES) or revalidated):  # tiles set their own
        # pages, Dash answers, API JSON hold personal data
        resp.headers["Cache-Control"] = "no-store"
    if auth_method() == "session" and g.get("principal") is not None and request.method == "GET":
        resp.set_cookie(CSRF_COOKIE, csrf_token(), secure=True, httponly=False, samesite="Strict")
    return resp


def limiter(app: Flask) -> Limiter:
    return app.extensions[LIMITER_KEY]


def hit_limit(name: str, limit: str, key: str) -> None:
    """Count one hit against `limit` (e.g. '10/minute') for `key`; raise 429 when exceeded."""
    item = parse(limit)
    lim = limiter(current_app)
    try:
        allowed = lim.limiter.hit(item, name, key)
    except Exception:  # Redis trouble must not lock everyone out; sessions will report it
        return
    if not allowed:
        raise ApiError(429, "rate.limited", f"too many requests ({limit})", "请求过于频繁，请稍后再试",
                       headers={"Retry-After": str(item.get_expiry())})


def _limit_ingest() -> Any:
    if request.path.startswith("/api/v1/ingest") and request.method not in SAFE_METHODS:
        principal = current_principal()
        key = f"user:{principal.user_id}" if principal else f"ip:{client_ip()}"
        try:
            hit_limit("ingest", app_config("ONEMAP_INGEST_RATE_LIMIT"), key)
        except ApiError as err:
            return _error(err)
    return None


def app_config(name: str) -> str:
    return str(current_app.config[name])


def install_security(app: Flask, dash_app: Dash) -> None:
    """Wire the guard, CSRF, headers, cookie flags and rate limiting into `app`."""
    settings = app.extensions["onemap"].settings
    if settings.audit_signing_key.get_secret_value():
        set_checkpoint_signer(AuditSigner(parse_sm2_private_key(settings.audit_signing_key.get_secret_value())))
    app.config.update(
        SESSION_COOKIE_NAME="onemap_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.setdefault("ONEMAP_LOGIN_RATE_LIMIT", "10/minute")
    app.config.setdefault("ONEMAP_INGEST_RATE_LIMIT", "600/minute")
    hops = settings.proxy_hops  # PROXY_HOPS: trusted reverse proxies in front of the app (0: none)
    if hops:  # behind the reverse proxy: the client address (for rate limits, audit) comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    storage_uri, storage_options = limiter_storage(settings)  # through the Sentinels when configured
    app.extensions[LIMITER_KEY] = Limiter(
        get_remote_address, app=app, storage_uri=storage_uri, key_prefix=f"{settings.redis_namespace}:limiter",
        storage_options=storage_options,
        strategy="fixed-window", default_limits=[], swallow_errors=True, headers_enabled=False,
    )
    app.before_request(_bind_client_address)
    app.teardown_request(_unbind_client_address)
    app.before_request(_guard_pages)
    app.before_request(_check_csrf)
    app.before_request(_limit_ingest)
    app.after_request(lambda resp: _headers(app, dash_app, resp))

    from dashboard.login import bp as login_bp

    app.register_blueprint(login_bp)
