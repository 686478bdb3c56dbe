"""SM2-signed machine requests (the city platform): method, path, time, nonce and body digest.

String to sign: "\\n".join([METHOD, path_with_query, timestamp, nonce, sm3_hex(body)]).
"""
from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

from security.sm2 import sm2_sign, sm2_verify
from security.sm3 import sm3_hex

H_KEY_ID = "X-OneMap-Key-Id"
H_TIMESTAMP = "X-OneMap-Timestamp"
H_NONCE = "X-OneMap-Nonce"
H_SIGNATURE = "X-OneMap-Signature"
SIGNED_HEADERS = (H_KEY_ID, H_TIMESTAMP, H_NONCE, H_SIGNATURE)
_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")


class Headers(Protocol):
    """Request headers: a dict in tests and clients, werkzeug's case-insensitive Headers in the app."""

    def get(self, key: str, /) -> str | None: ...


class SignatureError(Exception):
    """A signed request was refused; `code` is one of sig.missing / unknown_key / bad_signature / expired / replayed."""

    MESSAGES_ZH = {"sig.missing": "缺少签名请求头或格式错误", "sig.unknown_key": "未知或已停用的签名密钥",
                   "sig.bad_signature": "签名验证失败", "sig.expired": "请求时间戳超出允许范围",
                   "sig.replayed": "请求已被使用（重放）"}

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def message_zh(self) -> str:
        return self.MESSAGES_ZH.get(self.code, "签名无效")


def string_to_sign(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, sm3_hex(body)]).encode("utf-8")


def sign_request(*, private_key_hex: str, key_id: str, method: str, path: str, body: bytes,
                 now: float | None = None) -> dict[str, str]:
    """The four headers that authenticate one request (path includes the query string)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(18)
    sig = sm2_sign(private_key_hex, string_to_sign(method=method, path=path, timestamp=timestamp, nonce=nonce,
                                                   body=body))
    return {H_KEY_ID: key_id, H_TIMESTAMP: timestamp, H_NONCE: nonce, H_SIGNATURE: base64.b64encode(sig).decode()}


def verify_request(*, headers: Headers, method: str, path: str, body: bytes,
                   lookup_public_key: Callable[[str], str | None], nonce_store: Callable[[str, int], bool],
                   now: float | None = None, max_skew: int = 300) -> str:
    """Return the key id of a valid request; raise SignatureError otherwise.

    The nonce is only spent after the signature checks out, so forged requests cannot burn nonces.
    """
    key_id, ts, nonce, sig_b64 = (headers.get(h) for h in SIGNED_HEADERS)
    if not (key_id and ts and nonce and sig_b64) or not ts.isdigit() or not _NONCE_RE.match(nonce):
        raise SignatureError("sig.missing", f"headers {', '.join(SIGNED_HEADERS)} are required")
    current = time.time() if now is None else now
    if abs(current - int(ts)) > max_skew:
        raise SignatureError("sig.expired", f"timestamp outside ±{max_skew} s")
    public_key = lookup_public_key(key_id)
    if not public_key:
        raise SignatureError("sig.unknown_key", f"key {key_id!r} is unknown or inactive")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("sig.bad_signature", "signature is not base64") from None
    message = string_to_sign(method=method, path=path, timestamp=ts, nonce=nonce, body=body)
    if not sm2_verify(public_key, message, signature):
        raise SignatureError("sig.bad_signature", "signature does not verify")
    if not nonce_store(f"{key_id}:{nonce}", 2 * max_skew + 60):
        raise SignatureError("sig.replayed", "nonce already used")
    return key_id


class MemoryNonces:
    """A replay guard kept in memory (the stand-ins' nonce store): each key is spent once until it expires."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, ttl: int) -> bool:
        """Spend `key` for `ttl` seconds; False when it is already spent."""
        now = time.time()
        with self._lock:
            for k in [k for k, exp in self._expiry.items() if exp < now]:
                del self._expiry[k]
            if key in self._expiry:
                return False
            self._expiry[key] = now + ttl
            return True
