"""Personal data at rest: SM4-GCM with a key id, SM3-HMAC blind index, masking for display."""
from __future__ import annotations

import unicodedata

from security.secrets import KeyRing
from security.sm3 import sm3_hmac, sm3_hmac_many
from security.sm4 import DecryptionError, sm4_gcm_decrypt, sm4_gcm_encrypt, sm4_gcm_encrypt_many

_VERSION = 1


class FieldCipher:
    """Encrypts single text fields; the output names the key that made it."""

    def __init__(self, ring: KeyRing, blind_index_key: bytes) -> None:
        self._ring = ring
        self._bidx_key = blind_index_key

    def __repr__(self) -> str:
        return f"FieldCipher({self._ring!r})"

    def encrypt(self, value: str, field_name: str = "") -> bytes:
        """version ‖ len(kid) ‖ kid ‖ nonce ‖ ciphertext ‖ tag; the field name is authenticated."""
        kid = self._ring.current.encode()
        blob = sm4_gcm_encrypt(self._ring.keys[self._ring.current], value.encode("utf-8"), field_name.encode())
        return bytes([_VERSION, len(kid)]) + kid + blob

    def encrypt_many(self, values: list[str], field_name: str = "") -> list[bytes]:
        """`encrypt` of many values of one field (same format, fresh nonce each), with the per-call overhead hoisted."""
        kid = self._ring.current.encode()
        head = bytes([_VERSION, len(kid)]) + kid
        blobs = sm4_gcm_encrypt_many(self._ring.keys[self._ring.current], [v.encode("utf-8") for v in values],
                                     field_name.encode())
        return [head + blob for blob in blobs]

    def decrypt(self, data: bytes, field_name: str = "") -> str:
        if len(data) < 2 or data[0] != _VERSION:
            raise DecryptionError("unknown ciphertext format")
        kid = data[2 : 2 + data[1]].decode()
        if kid not in self._ring.keys:
            raise DecryptionError(f"key {kid!r} not configured")
        return sm4_gcm_decrypt(self._ring.keys[kid], data[2 + data[1] :], field_name.encode()).decode("utf-8")

    def blind_index(self, value: str, field_name: str = "") -> bytes:
        """Deterministic HMAC-SM3 of the normalised value, for exact match without decryption."""
        return sm3_hmac(self._bidx_key, field_name.encode() + b"\x00" + normalise(value).encode())

    def blind_index_many(self, values: list[str], field_name: str = "") -> list[bytes]:
        """`blind_index` of many values of one field."""
        return sm3_hmac_many(self._bidx_key, field_name.encode() + b"\x00", [normalise(v).encode() for v in values])


def normalise(value: str) -> str:
    """Full-width to half-width, trimmed, upper-case (ID numbers end in X or x)."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def mask_name(name: str) -> str:
    """张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(value: str) -> str:
    """310105199001011234 → 310105********1234."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str) -> str:
    """Keep the first 6 characters (district and street), hide the rest."""
    return value[:6] + "*" * max(0, min(len(value) - 6, 8))
