"""Two-factor login: password (with lockout) then proof of possession of the user's SM2 key."""
from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import datetime, timedelta, timezone

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.passwords import ITERATIONS, verify_password
from accounts.principal import Principal
from accounts.tokens import principal_for_user
from security.sm2 import sm2_verify
from store.accounts import AppUser

MAX_FAILURES = 5
LOCK_MINUTES = 15
CHALLENGE_TTL = 180


class LoginError(Exception):
    """A refused login step; `code` is stable (login.*), `message_zh` is shown."""

    def __init__(self, code: str, message_zh: str) -> None:
        super().__init__(code)
        self.code, self.message_zh = code, message_zh


_BAD = LoginError("login.bad_credentials", "用户名或密码错误")


def check_password(session: Session, *, username: str, password: str, ip: str | None = None,
                   now: datetime | None = None) -> AppUser:
    """First factor. Counts failures, locks for 15 minutes after 5; audits every attempt.

    Raises LoginError; the caller commits in either case so failures are counted and audited.
    """
    now = now or datetime.now(timezone.utc)
    user = session.scalar(select(AppUser).where(AppUser.username == username).with_for_update())
    if user is None:
        verify_password(password, hashed=None, salt=None, iterations=ITERATIONS)  # same cost as a real check
        audit.record(session, actor=None, action="login.failed", ip=ip, detail={"username": username[:60],
                                                                                 "reason": "unknown_user"})
        raise _BAD
    who = principal_for_user(session, user)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, actor=who, action="login.failed", ip=ip, detail={"reason": "locked"})
        raise LoginError("login.locked", f"连续失败次数过多，账号已锁定至 {user.locked_until.astimezone():%H:%M}")
    ok = verify_password(password, hashed=user.password_hash, salt=user.password_salt,
                         iterations=user.password_iterations)
    if not ok or not user.is_active:
        reason = "inactive" if ok else "bad_password"
        if not ok:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
                reason = "bad_password_locked"
        audit.record(session, actor=who, action="login.failed", ip=ip, detail={"reason": reason})
        raise _BAD
    user.failed_logins, user.locked_until = 0, None
    return user


def _challenge_key(namespace: str, challenge_id: str) -> str:
    return f"{namespace}:login-challenge:{challenge_id}"


def issue_challenge(client: redis.Redis, namespace: str, *, user_id: int) -> tuple[str, str]:
    """A single-use challenge for the second factor: (challenge id, text the user's key must sign)."""
    challenge_id = secrets.token_urlsafe(16)
    text = f"onemap-login|{user_id}|{secrets.token_hex(16)}|{int(datetime.now(timezone.utc).timestamp())}"
    client.set(_challenge_key(namespace, challenge_id), json.dumps({"user_id": user_id, "text": text}),
               ex=CHALLENGE_TTL)
    return challenge_id, text


def peek_challenge(client: redis.Redis, namespace: str, challenge_id: str) -> str | None:
    raw = client.get(_challenge_key(namespace, challenge_id))
    return json.loads(raw)["text"] if raw else None


def check_second_factor(session: Session, client: redis.Redis, namespace: str, *, challenge_id: str,
                        signature_b64: str, ip: str | None = None) -> Principal:
    """Second factor: the challenge (spent on first use) must be signed by the user's SM2 key."""
    raw = client.getdel(_challenge_key(namespace, challenge_id)) if challenge_id else None
    if raw is None:
        raise LoginError("login.challenge_expired", "验证已过期，请重新登录")
    body = json.loads(raw)
    user = session.get(AppUser, body["user_id"])
    if user is None or not user.is_active:
        raise _BAD
    who = principal_for_user(session, user)
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not user.sm2_public_key or not sm2_verify(user.sm2_public_key, body["text"].encode(), signature):
        audit.record(session, actor=who, action="login.failed", ip=ip, detail={"reason": "bad_sm2_signature"})
        raise LoginError("login.bad_signature", "证书签名验证失败")
    user.last_login_at = datetime.now(timezone.utc)
    audit.record(session, actor=who, action="login.ok", ip=ip, detail={"method": "password+sm2"})
    return who


def check_device_token(session: Session, *, token: str, ip: str | None = None) -> Principal:
    """Kiosk login with a revocable device token (only wall_kiosk users)."""
    from accounts.tokens import principal_for_token

    principal = principal_for_token(session, token, kinds=("device",))
    if principal is None or principal.role != "wall_kiosk":
        audit.record(session, actor=None, action="login.failed", ip=ip, detail={"reason": "bad_device_token"})
        raise LoginError("login.bad_device_token", "设备令牌无效或已吊销")
    audit.record(session, actor=principal, action="login.ok", ip=ip, detail={"method": "device"})
    return principal
