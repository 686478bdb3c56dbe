"""Login (password, then SM2 signature of a challenge), kiosk device login, logout and the profile page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template_string, request, session
from sqlalchemy import select

from accounts.login import (
    LoginError,
    LoginThrottle,
    check_current_password,
    check_device_token,
    check_fresh_factor,
    check_password,
    check_second_factor,
    issue_challenge,
    peek_challenge,
)
from accounts.passwords import PasswordPolicyError
from accounts.principal import Principal
from accounts.tokens import TokenLifetimeError, create_token, list_tokens, revoke_token
from accounts.users import set_password
from accounts.whoami import role_name
from dashboard.auth import session_store, web_session
from dashboard.components.shell import shell_header
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.security_headers import app_config, client_ip, csrf_token, hit_limit, rotate_csrf
from dashboard.view_only import guard as view_only_guard
from geo import beijing
from store.accounts import AppUser

bp = Blueprint("login", __name__)
bp.before_app_request(view_only_guard)  # kiosk and embed sessions: no profile, tokens, password or writes

_BASE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }} · OneMap 一张图</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/shell.css"></head>
<body class="{{ 'om-app-page' if shell else 'om-login' }}">{{ shell }}<main class="om-card"><h1>{{ title }}</h1>
{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}{% if notice %}<p class="ok">{{ notice }}</p>{% endif %}
{{ body|safe }}</main></body></html>"""

_LOGIN = """<form method="post" action="/login" autocomplete="off">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<label for="username">用户名</label><input id="username" name="username" required maxlength="60" value="{{ username }}">
<label for="password">密码</label><input id="password" name="password" type="password" required maxlength="200">
<button type="submit">下一步：证书验证</button></form>
<p>第二步需用您的 SM2 数字证书私钥对挑战签名（演示环境：<code>onemap sign-challenge</code>）。</p>"""

_VERIFY = """<p>请用用户 <b>{{ username }}</b> 的 SM2 证书私钥签署以下挑战（3 分钟内有效）：</p>
<pre id="challenge">{{ challenge }}</pre>
<p>演示环境命令：</p><pre>onemap sign-challenge --user {{ username }} --challenge '{{ challenge }}'</pre>
<form method="post" action="/login/verify"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="signature">签名（Base64，DER 编码）</label><textarea id="signature" name="signature" required></textarea>
<button type="submit">登录</button></form>"""

_PROFILE = """<p>{{ p.username }}（{{ role }}）· <a href="/monitor">返回一张图</a></p>
{% if new_token %}<p class="ok">新令牌（只显示这一次，请立即保存）：</p><pre id="new-token">{{ new_token }}</pre>{% endif %}
<h2>个人访问令牌</h2><table><tr><th>名称</th><th>类型</th><th>创建</th><th>到期</th><th>状态</th><th></th></tr>
{% for t in tokens %}<tr><td>{{ t.name }}</td><td>{{ t.kind }}</td><td>{{ day(t.created_at) }}</td>
<td>{{ day(t.expires_at) if t.expires_at else '长期' }}</td>
<td>{{ '已吊销' if t.revoked_at else '有效' }}</td><td>{% if not t.revoked_at %}
<form class="inline" method="post" action="/profile/tokens/{{ t.id }}/revoke"><input type="hidden" name="csrf_token"
value="{{ csrf }}"><button type="submit">吊销</button></form>{% endif %}</td></tr>{% endfor %}</table>
<h2>证书验证</h2><p>创建令牌和修改密码需先用 SM2 证书私钥签署以下挑战（3 分钟内有效，每次提交后更换）：</p>
<pre id="stepup-challenge">{{ challenge }}</pre>
<p>演示环境命令：</p><pre>onemap sign-challenge --user {{ p.username }} --challenge '{{ challenge }}'</pre>
<form method="post" action="/profile/tokens"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="name">新令牌名称</label><input id="name" name="name" required maxlength="100">
<label for="expires_days">有效天数（1–{{ max_days }}，留空为 {{ max_days }}）</label>
<input id="expires_days" name="expires_days" inputmode="numeric">
<label for="token-signature">证书签名（Base64）</label><textarea id="token-signature" name="signature" required></textarea>
<button type="submit">创建令牌</button></form>
<h2>修改密码</h2><form method="post" action="/profile/password"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="current_password">当前密码</label><input id="current_password" name="current_password" type="password"
required>
<label for="new_password">新密码（≥8 位，含三类字符）</label><input id="new_password" name="new_password" type="password">
<label for="password-signature">证书签名（Base64）</label><textarea id="password-signature" name="signature" required>
</textarea>
<button type="submit">修改</button></form>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}"><button>退出登录</button></form>"""


def _page(title: str, body: str, *, status: int = 200, error: str = "", notice: str = "", shell: str = "",
          **ctx: Any) -> Any:
    """A form page in assets/shell.css's look; `shell` is the app shell's header (pages behind the login)."""
    inner = render_template_string(body, csrf=csrf_token(), **ctx)
    return render_template_string(_BASE, title=title, body=inner, error=error, notice=notice, shell=shell), status


def _safe_next(target: str | None) -> str:
    """Only local paths: no scheme, no host, no '//' or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return "/monitor"
    return target


def _limit_login() -> str | None:
    try:
        hit_limit("login", app_config("ONEMAP_LOGIN_RATE_LIMIT"), client_ip())
    except ApiError as err:
        return err.message_zh
    return None


def _start_session(principal: Principal, *, device: bool, token_id: int | None = None) -> None:
    """New session id and CSRF token at login (no fixation); a kiosk session records its device token."""
    old = session.get("sid")
    if old:
        session_store().destroy(old)
    session.clear()
    ws = session_store(device=device).create(principal, method="device" if device else "password+sm2",
                                             token_id=token_id)
    session["sid"], session["device"] = ws.sid, device
    rotate_csrf()


@bp.get("/login")
def login_form() -> Any:
    return _page("登录 · 一张图", _LOGIN, next=_safe_next(request.args.get("next")), username="")


@bp.post("/login")
def login_password() -> Any:
    nxt, username = _safe_next(request.form.get("next")), (request.form.get("username") or "").strip()[:60]
    limited = _limit_login()
    if limited:
        return _page("登录 · 一张图", _LOGIN, status=429, error=limited, next=nxt, username=username)
    svc = services()
    with svc.session_factory() as db:
        try:
            user = check_password(db, username=username, password=request.form.get("password") or "", ip=client_ip(),
                                  throttle=LoginThrottle(svc.redis, svc.settings.redis_namespace))
        except LoginError as exc:
            db.commit()  # failures are audited
            status = 429 if exc.code == "login.throttled" else 401
            return _page("登录 · 一张图", _LOGIN, status=status, error=exc.message_zh, next=nxt, username=username)
        db.commit()
        challenge_id, _ = issue_challenge(svc.redis, svc.settings.redis_namespace, user_id=user.id)
    session["challenge"], session["challenge_user"], session["next"] = challenge_id, user.username, nxt
    return redirect("/login/verify", code=303)


@bp.get("/login/verify")
def verify_form() -> Any:
    svc = services()
    text = peek_challenge(svc.redis, svc.settings.redis_namespace, session.get("challenge", ""))
    if text is None:
        return redirect("/login", code=303)
    return _page("证书验证 · 一张图", _VERIFY, username=session.get("challenge_user", ""), challenge=text)


@bp.post("/login/verify")
def verify_signature() -> Any:
    svc = services()
    with svc.session_factory() as db:
        try:
            principal = check_second_factor(db, svc.redis, svc.settings.redis_namespace,
                                            challenge_id=session.pop("challenge", ""),
                                            signature_b64=request.form.get("signature") or "", ip=client_ip())
        except LoginError as exc:
            db.commit()
            return _page("登录 · 一张图", _LOGIN, status=401, error=exc.message_zh, next=session.get("next", ""),
                         username=session.get("challenge_user", ""))
        db.commit()
    nxt = _safe_next(session.get("next"))
    _start_session(principal, device=False)
    return redirect(nxt, code=303)


@bp.get("/login/device")
def device_login() -> Any:
    """Kiosk: /login/device?token=… sets a long-idle session and drops the token from the URL."""
    limited = _limit_login()
    if limited:
        return _page("大屏登录", "", status=429, error=limited)
    with services().session_factory() as db:
        try:
            principal, token_id = check_device_token(db, token=request.args.get("token", ""), ip=client_ip())
        except LoginError as exc:
            db.commit()
            return _page("大屏登录", "", status=401, error=exc.message_zh)
        db.commit()
    _start_session(principal, device=True, token_id=token_id)
    return redirect(_safe_next(request.args.get("next") or "/monitor?wall=1"), code=303)


@bp.get("/logout")
def logout_form() -> Any:
    body = """<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit">确认退出</button></form>"""
    return _page("退出登录", body)


@bp.post("/logout")
def logout() -> Any:
    sid = session.get("sid")
    if sid:
        session_store(device=session.get("device", False)).destroy(sid)
    session.clear()
    return redirect("/login", code=303)


def _profile_user() -> Principal | None:
    """Only a full browser session manages tokens and passwords (not a bearer token, kiosk or embed)."""
    ws = web_session()
    return ws.principal if ws is not None and not ws.view_only else None


def _profile(principal: Principal, *, status: int = 200, error: str = "", notice: str = "", new_token: str = "") -> Any:
    svc = services()
    with svc.session_factory() as db:
        tokens = list_tokens(db, user_id=principal.user_id)
    challenge_id, challenge = issue_challenge(svc.redis, svc.settings.redis_namespace, user_id=principal.user_id,
                                              purpose="stepup")
    session["stepup"] = challenge_id
    return _page("个人中心 · 令牌", _PROFILE, status=status, error=error, notice=notice, p=principal, tokens=tokens,
                 new_token=new_token, challenge=challenge, max_days=_personal_max_days(), shell=shell_header("profile"),
                 role=role_name(principal.role), day=lambda t: beijing.minute(t)[:10])


def _personal_max_days() -> int:
    return services().settings.personal_token_max_days


def _fresh_factor(db: Any, principal: Principal) -> None:
    """The step-up challenge shown on /profile, signed by the user's key within its 3 minutes (spent here)."""
    svc = services()
    check_fresh_factor(db, svc.redis, svc.settings.redis_namespace, user_id=principal.user_id,
                       challenge_id=session.pop("stepup", ""), signature_b64=request.form.get("signature") or "",
                       ip=client_ip())


@bp.get("/profile")
def profile() -> Any:
    principal = _profile_user()
    return redirect("/login?next=/profile") if principal is None else _profile(principal)


@bp.post("/profile/tokens")
def profile_create_token() -> Any:
    principal = _profile_user()
    if principal is None:
        return redirect("/login?next=/profile")
    name, days = (request.form.get("name") or "").strip(), (request.form.get("expires_days") or "").strip()
    cap = _personal_max_days()
    if not name or (days and (not days.isdigit() or not 1 <= int(days) <= cap)):
        return _profile(principal, status=422, error=f"名称必填；有效天数须为 1–{cap} 的整数")
    with services().session_factory() as db:
        try:
            _fresh_factor(db, principal)
            _, clear = create_token(db, user_id=principal.user_id, name=name, expires_days=int(days) if days else None,
                                    actor=principal, max_days=cap)
        except LoginError as exc:
            db.commit()  # the failed signature is audited
            return _profile(principal, status=403, error=exc.message_zh)
        except TokenLifetimeError:
            return _profile(principal, status=422, error=f"有效天数须为 1–{cap} 的整数")
        db.commit()
    return _profile(principal, notice="令牌已创建", new_token=clear)


@bp.post("/profile/tokens/<int:token_id>/revoke")
def profile_revoke_token(token_id: int) -> Any:
    principal = _profile_user()
    if principal is None:
        return redirect("/login?next=/profile")
    with services().session_factory() as db:
        ok = revoke_token(db, token_id=token_id, actor=principal, owner_id=principal.user_id) is not None
        db.commit()
    if ok:
        session_store().destroy_token(token_id, principal.user_id)  # sessions born from it end too
    return _profile(principal, status=200 if ok else 404, notice="令牌已吊销" if ok else "", error="" if ok else "令牌不存在")


@bp.post("/profile/password")
def profile_password() -> Any:
    principal = _profile_user()
    if principal is None:
        return redirect("/login?next=/profile")
    with services().session_factory() as db:
        user = db.scalars(select(AppUser).where(AppUser.id == principal.user_id)).one()
        try:
            check_current_password(db, user=user, password=request.form.get("current_password") or "",
                                   ip=client_ip())
            _fresh_factor(db, principal)
        except LoginError as exc:
            db.commit()  # the failed re-authentication is audited
            return _profile(principal, status=403, error=exc.message_zh)
        try:
            set_password(db, user, request.form.get("new_password") or "", actor=principal)
        except PasswordPolicyError as exc:
            db.rollback()
            return _profile(principal, status=422, error=exc.message_zh)
        db.commit()
    session_store().destroy_user(principal.user_id)  # every session of this user ends, this one too
    session.clear()
    return redirect("/login", code=303)
