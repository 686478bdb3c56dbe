"""Password policy and PBKDF2-HMAC-SM3 hashing with a per-user salt."""
from __future__ import annotations

import hmac
import os

from security.sm3 import pbkdf2_sm3

ITERATIONS = 100_000
MIN_LENGTH = 8


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; `code` is stable, `message_zh` is for the UI."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.code, self.message_zh = code, message_zh


def _classes(password: str) -> int:
    kinds = [any(c.islower() for c in password), any(c.isupper() for c in password),
             any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    return sum(kinds)


def check_policy(password: str, *, username: str = "") -> None:
    """Raise PasswordPolicyError unless ≥ 8 characters from ≥ 3 classes and not containing the username."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError("password.too_short", "at least 8 characters", "密码至少 8 位")
    if _classes(password) < 3:
        raise PasswordPolicyError("password.too_simple", "use 3 of: lower case, upper case, digits, symbols",
                                  "密码须包含小写字母、大写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        raise PasswordPolicyError("password.contains_username", "must not contain the user name",
                                  "密码不得包含用户名")


def hash_password(password: str, *, iterations: int = ITERATIONS) -> tuple[bytes, bytes, int]:
    """(hash, salt, iterations) for storage."""
    salt = os.urandom(16)
    return pbkdf2_sm3(password.encode("utf-8"), salt, iterations), salt, iterations


def verify_password(password: str, *, hashed: bytes | None, salt: bytes | None, iterations: int) -> bool:
    """Constant-time comparison; a missing hash never matches (but still costs the same time)."""
    candidate = pbkdf2_sm3(password.encode("utf-8"), salt or b"\x00" * 16, iterations)
    return hashed is not None and hmac.compare_digest(candidate, hashed)
