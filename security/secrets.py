"""Key material parsed from settings, held in types whose repr never shows it."""
from __future__ import annotations

from dataclasses import dataclass, field


class KeyConfigError(ValueError):
    """A key setting is missing or malformed."""


@dataclass(frozen=True)
class KeyRing:
    """Named SM4 keys: the first encrypts, every one decrypts (so keys can rotate)."""

    keys: dict[str, bytes] = field(repr=False)
    current: str

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current!r}, ids={list(self.keys)!r})"

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Parse 'kid:hex32,kid2:hex32'."""
        keys: dict[str, bytes] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            kid, _, hexkey = part.partition(":")
            try:
                key = bytes.fromhex(hexkey)
            except ValueError as exc:
                raise KeyConfigError(f"key {kid!r} is not hex") from exc
            if not kid or len(key) != 16 or len(kid.encode()) > 255:
                raise KeyConfigError(f"key {kid!r} must be 'id:<32 hex digits>'")
            keys[kid] = key
        if not keys:
            raise KeyConfigError("no SM4 key configured (PII_KEYS or PII_KEYS_FILE)")
        return cls(keys=keys, current=next(iter(keys)))


def sm2_key_id(public_hex: str) -> str:
    """A short stable id for an SM2 public key: 'sm2-' + the first 16 hex digits of its SM3."""
    from security.sm3 import sm3_hex

    return "sm2-" + sm3_hex(bytes.fromhex(public_hex[-128:]))[:16]


def parse_sm2_private_key(text: str) -> str:
    """An SM2 private key from a setting: 64 hex digits (whitespace and a 0x prefix ignored)."""
    value = text.strip().lower().removeprefix("0x")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise KeyConfigError("SM2 private key must be 64 hex digits")
    return value
