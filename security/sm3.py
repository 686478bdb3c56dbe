"""SM3 digest, HMAC-SM3 and PBKDF2-HMAC-SM3 through OpenSSL (hashlib), with gmssl as the fallback."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

_OPENSSL_HAS_SM3 = "sm3" in hashlib.algorithms_available


def sm3_digest(data: bytes) -> bytes:
    """SM3 hash (GB/T 32905) of `data`, 32 bytes."""
    if _OPENSSL_HAS_SM3:
        return hashlib.new("sm3", data).digest()
    return gmssl_sm3_digest(data)


def gmssl_sm3_digest(data: bytes) -> bytes:
    """SM3 by gmssl (pure Python): the fallback, and the reference in tests and benchmarks."""
    from gmssl import func, sm3

    return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def sm3_hex(data: bytes) -> str:
    """SM3 of `data` as 64 lower-case hex digits."""
    return sm3_digest(data).hex()


class _GmsslSM3:
    """Minimal hashlib-like object so `hmac` can use gmssl's SM3."""

    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b"") -> None:
        self._buf = bytearray(data)

    def update(self, data: bytes) -> None:
        self._buf += data

    def copy(self) -> _GmsslSM3:
        return _GmsslSM3(bytes(self._buf))

    def digest(self) -> bytes:
        return gmssl_sm3_digest(bytes(self._buf))


def _digestmod() -> Callable[..., Any]:
    return (lambda data=b"": hashlib.new("sm3", data)) if _OPENSSL_HAS_SM3 else _GmsslSM3


def sm3_hmac(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 construction over SM3)."""
    return hmac.new(key, data, _digestmod()).digest()


def sm3_hmac_many(key: bytes, prefix: bytes, values: list[bytes]) -> list[bytes]:
    """HMAC-SM3 of `prefix + value` for each value: the keyed state is prepared once and copied."""
    digestmod: Any = "sm3" if _OPENSSL_HAS_SM3 else _GmsslSM3  # the name lets hmac use OpenSSL's HMAC
    base = hmac.new(key, prefix, digestmod)
    out = []
    for value in values:
        mac = base.copy()
        mac.update(value)
        out.append(mac.digest())
    return out


def pbkdf2_sm3(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """PBKDF2 (RFC 8018) with HMAC-SM3 as the PRF: OpenSSL's implementation, else a Python one."""
    if _OPENSSL_HAS_SM3:
        return hashlib.pbkdf2_hmac("sm3", password, salt, iterations, length)
    return pbkdf2_sm3_python(password, salt, iterations, length)


def pbkdf2_sm3_python(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """The RFC 8018 algorithm written out (fallback, and the cross-check in tests)."""
    mac = hmac.new(password, None, _digestmod())
    out = b""
    for block in range(1, (length + 31) // 32 + 1):
        u = _prf(mac, salt + block.to_bytes(4, "big"))
        acc = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = _prf(mac, u)
            acc ^= int.from_bytes(u, "big")
        out += acc.to_bytes(32, "big")
    return out[:length]


def _prf(mac: hmac.HMAC, data: bytes) -> bytes:
    m = mac.copy()
    m.update(data)
    return m.digest()
