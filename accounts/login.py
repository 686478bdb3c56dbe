"""Two-factor login: password (throttled per account and client) then proof of possession of the user's SM2 key."""
from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import UTC, datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import audit
from accounts.passwords import ITERATIONS, verify_password
from accounts.principal import Principal
from accounts.tokens import principal_for_user, resolve_token
from security.sm2 import sm2_verify
from security.sm3 import sm3_digest
from store.accounts import AppUser

MAX_FAILURES = 5
LOCK_MINUTES = 15
CHALLENGE_TTL = 180  # a step-up signature is fresh while its challenge lives: at most 3 minutes


class LoginError(Exception):
    """A refused login step; `code` is stable (login.*), `message_zh` is shown."""

    def __init__(self, code: str, message_zh: str) -> None:
        super().__init__(code)
        self.code, self.message_zh = code, message_zh


_BAD = LoginError("login.bad_credentials", "用户名或密码错误")
_THROTTLED = LoginError("login.throttled", f"尝试次数过多，请 {LOCK_MINUTES} 分钟后再试")


class LoginThrottle:
    """Failed passwords counted per (user name as typed, client address) in Redis.

    After MAX_FAILURES failures that pair waits LOCK_MINUTES; nobody else is locked out, and an unknown
    name is counted and answered exactly like a real one (no user-name enumeration).
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._r, self._ns = client, namespace

    def _key(self, username: str, ip: str | None) -> str:
        who = sm3_digest(f"{username.strip().lower()}\n{ip or '-'}".encode()).hex()
        return f"{self._ns}:login-failures:{who}"

    def blocked(self, username: str, ip: str | None) -> bool:
        raw = self._r.get(self._key(username, ip))
        return raw is not None and int(raw) >= MAX_FAILURES

    def failed(self, username: str, ip: str | None) -> None:
        key = self._key(username, ip)
        pipe = self._r.pipeline()
        pipe.incr(key)
        pipe.expire(key, LOCK_MINUTES * 60)
        pipe.execute()

    def succeeded(self, username: str, ip: str | None) -> None:
        self._r.delete(self._key(username, ip))


def check_password(session: Session, *, username: str, password: str, ip: str | None = None,
                   throttle: LoginThrottle | None = None) -> AppUser:
    """First factor. Throttles per (name, client) after 5 failures; audits every attempt.

    Raises LoginError; the caller commits in either case so failures are audited.
    """
    if throttle is not None and throttle.blocked(username, ip):
        audit.record(session, actor=None, action="login.failed", ip=ip, detail={"username": username[:60],
                                                                                 "reason": "throttled"})
        raise _THROTTLED
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        verify_password(password, hashed=None, salt=None, iterations=ITERATIONS)  # same cost as a real check
        audit.record(session, actor=None, action="login.failed", ip=ip, detail={"username": username[:60],
                                                                                 "reason": "unknown_user"})
        _count_failure(throttle, username, ip)
        raise _BAD
    who = principal_for_user(session, user)
    ok = verify_password(password, hashed=user.password_hash, salt=user.password_salt,
                         iterations=user.password_iterations)
    if not ok or not user.is_active:
        audit.record(session, actor=who, action="login.failed", ip=ip,
                     detail={"reason": "inactive" if ok else "bad_password"})
        _count_failure(throttle, username, ip)
        raise _BAD
    if throttle is not None:
        throttle.succeeded(username, ip)
    return user


def _count_failure(throttle: LoginThrottle | None, username: str, ip: str | None) -> None:
    if throttle is not None:
        throttle.failed(username, ip)


def check_current_password(session: Session, *, user: AppUser, password: str, ip: str | None = None) -> None:
    """Re-authentication before a password change: the current password must be right. Audited on failure."""
    ok = bool(password) and verify_password(password, hashed=user.password_hash, salt=user.password_salt,
                                            iterations=user.password_iterations)
    if not ok:
        audit.record(session, actor=principal_for_user(session, user), action="login.failed", ip=ip,
                     detail={"reason": "bad_current_password"})
        raise LoginError("login.bad_current_password", "当前密码不正确")


def _challenge_key(namespace: str, challenge_id: str) -> str:
    return f"{namespace}:login-challenge:{challenge_id}"


def issue_challenge(client: redis.Redis, namespace: str, *, user_id: int, purpose: str = "login"
                    ) -> tuple[str, str]:
    """A single-use challenge for the second factor: (challenge id, text the user's key must sign).

    `purpose` ("login" or "stepup") is part of the signed text and of the record, so a signature made
    for one cannot be used for the other.
    """
    challenge_id = secrets.token_urlsafe(16)
    text = f"onemap-{purpose}|{user_id}|{secrets.token_hex(16)}|{int(datetime.now(UTC).timestamp())}"
    client.set(_challenge_key(namespace, challenge_id),
               json.dumps({"user_id": user_id, "text": text, "purpose": purpose}), ex=CHALLENGE_TTL)
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
    if body.get("purpose", "login") != "login":
        raise LoginError("login.challenge_expired", "验证已过期，请重新登录")
    user = session.get(AppUser, body["user_id"])
    if user is None or not user.is_active:
        raise _BAD
    who = principal_for_user(session, user)
    _verify_signature(session, user, who, body["text"], signature_b64, ip)
    user.last_login_at = datetime.now(UTC)
    audit.record(session, actor=who, action="login.ok", ip=ip, detail={"method": "password+sm2"})
    return who


def _verify_signature(session: Session, user: AppUser, who: Principal, text: str, signature_b64: str,
                      ip: str | None) -> None:
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not user.sm2_public_key or not sm2_verify(user.sm2_public_key, text.encode(), signature):
        audit.record(session, actor=who, action="login.failed", ip=ip, detail={"reason": "bad_sm2_signature"})
        raise LoginError("login.bad_signature", "证书签名验证失败")


def check_fresh_factor(session: Session, client: redis.Redis, namespace: str, *, user_id: int, challenge_id: str,
                       signature_b64: str, ip: str | None = None) -> None:
    """Step-up before minting a token or changing the password: a "stepup" challenge of this user, issued
    within CHALLENGE_TTL and spent on first use, signed by the user's SM2 key. Raises LoginError."""
    raw = client.getdel(_challenge_key(namespace, challenge_id)) if challenge_id else None
    body = json.loads(raw) if raw else None
    if body is None or body.get("purpose") != "stepup" or body.get("user_id") != user_id:
        raise LoginError("login.stepup_required", "证书验证已过期，请重新签名后再提交")
    user = session.get(AppUser, user_id)
    if user is None or not user.is_active:
        raise _BAD
    _verify_signature(session, user, principal_for_user(session, user), body["text"], signature_b64, ip)


def check_device_token(session: Session, *, token: str, ip: str | None = None) -> tuple[Principal, int]:
    """Kiosk login with a revocable device token (only wall_kiosk users): the principal and the token's id."""
    resolved = resolve_token(session, token, kinds=("device",))
    if resolved is None or resolved.principal.role != "wall_kiosk":
        audit.record(session, actor=None, action="login.failed", ip=ip, detail={"reason": "bad_device_token"})
        raise LoginError("login.bad_device_token", "设备令牌无效或已吊销")
    audit.record(session, actor=resolved.principal, action="login.ok", ip=ip,
                 detail={"method": "device", "token_id": resolved.token_id})
    return resolved.principal, resolved.token_id
