"""Digital envelope (数字信封): data sealed with a fresh SM4 key, the key wrapped with the recipient's SM2 key.

One `Sealer` per message (a batch of exchange records): it draws one 16-byte SM4 data key and wraps it
once with the recipient's SM2 public key (the costly step), then seals any number of items with
SM4-GCM under that key, each bound to its own context (`aad`, e.g. "case_report:123:2") so a sealed
item cannot be moved to another record. Only the holder of the recipient's SM2 private key can open
the data key, and with it the items.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from security.sm2 import SM2Error, sm2_decrypt, sm2_encrypt
from security.sm4 import DecryptionError, sm4_gcm_decrypt, sm4_gcm_encrypt

ALGORITHM = "SM2-SM4-GCM"
DATA_KEY_BYTES = 16


class EnvelopeError(ValueError):
    """The envelope cannot be opened: wrong key, altered data, wrong context or an unknown algorithm."""


@dataclass(frozen=True)
class EnvelopeHeader:
    """What travels once per message: the algorithm, whose key opens it, and the wrapped data key."""

    recipient: str
    wrapped_key: str  # base64 of the SM2 ciphertext (C1 ‖ C3 ‖ C2) of the data key
    algorithm: str = ALGORITHM

    def as_json(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "recipient": self.recipient, "wrapped_key": self.wrapped_key}


@dataclass
class Sealer:
    """Seals items for one recipient under one data key."""

    recipient_public_hex: str
    recipient: str
    _key: bytes = field(default_factory=lambda: os.urandom(DATA_KEY_BYTES), repr=False)
    _header: EnvelopeHeader | None = field(default=None, repr=False)

    @property
    def header(self) -> EnvelopeHeader:
        if self._header is None:
            wrapped = sm2_encrypt(self.recipient_public_hex, self._key)
            self._header = EnvelopeHeader(recipient=self.recipient, wrapped_key=_b64(wrapped))
        return self._header

    def seal(self, plaintext: bytes, context: str) -> str:
        """base64 of SM4-GCM(nonce ‖ ciphertext ‖ tag) bound to `context`."""
        return _b64(sm4_gcm_encrypt(self._key, plaintext, context.encode()))


def open_data_key(private_hex: str, header: EnvelopeHeader) -> bytes:
    """Unwrap the data key with the recipient's SM2 private key."""
    if header.algorithm != ALGORITHM:
        raise EnvelopeError(f"unknown envelope algorithm {header.algorithm!r}")
    try:
        key = sm2_decrypt(private_hex, _unb64(header.wrapped_key))
    except (SM2Error, ValueError) as exc:
        raise EnvelopeError("the data key does not open with this private key") from exc
    if len(key) != DATA_KEY_BYTES:
        raise EnvelopeError("the wrapped data key has the wrong length")
    return key


def open_item(data_key: bytes, sealed: str, context: str) -> bytes:
    """The plaintext of one sealed item; EnvelopeError when altered or sealed for another context."""
    try:
        return sm4_gcm_decrypt(data_key, _unb64(sealed), context.encode())
    except (DecryptionError, ValueError) as exc:
        raise EnvelopeError(f"sealed item for {context} does not open") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise EnvelopeError("not base64") from exc
