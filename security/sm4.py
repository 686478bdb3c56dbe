"""SM4 (GB/T 32907): GCM for data at rest, CBC/PKCS#7 for exchange (as `openssl enc -sm4-cbc`).

Through OpenSSL (`cryptography`); CBC and ECB fall back to gmssl where OpenSSL lacks SM4.
"""
from __future__ import annotations

import os
from typing import Protocol

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NONCE_BYTES = 12
TAG_BYTES = 16
BLOCK = 16


class DecryptionError(ValueError):
    """Ciphertext was altered, truncated or made with another key."""


def _openssl_has_sm4() -> bool:
    try:
        Cipher(algorithms.SM4(bytes(16)), modes.ECB()).encryptor()
        return True
    except Exception:  # UnsupportedAlgorithm on OpenSSL builds without SM4
        return False


_OPENSSL_HAS_SM4 = _openssl_has_sm4()


def _check_key(key: bytes) -> None:
    if len(key) != 16:
        raise ValueError("SM4 key must be 16 bytes")


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate; returns nonce ‖ ciphertext ‖ tag."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(plaintext) + enc.finalize()
    return nonce + body + enc.tag


def sm4_gcm_encrypt_many(key: bytes, plaintexts: list[bytes], aad: bytes = b"") -> list[bytes]:
    """`sm4_gcm_encrypt` of many values under one key and AAD: one key schedule object, one urandom call."""
    _check_key(key)
    algorithm = algorithms.SM4(key)
    nonces = os.urandom(NONCE_BYTES * len(plaintexts))
    out = []
    for i, plaintext in enumerate(plaintexts):
        nonce = nonces[i * NONCE_BYTES:(i + 1) * NONCE_BYTES]
        enc = Cipher(algorithm, modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plaintext) + enc.finalize()
        out.append(nonce + body + enc.tag)
    return out


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Inverse of `sm4_gcm_encrypt`; raises DecryptionError on any tampering."""
    _check_key(key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext too short")
    nonce, body, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except Exception as exc:  # cryptography raises InvalidTag
        raise DecryptionError("authentication failed") from exc


def sm4_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    """One raw block (for the GB/T 32907 test vectors)."""
    _check_key(key)
    if len(block) != BLOCK:
        raise ValueError("SM4 block must be 16 bytes")
    if _OPENSSL_HAS_SM4:
        enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
        return enc.update(block) + enc.finalize()
    return _gmssl(key, encrypt=True).crypt_ecb(block)[:BLOCK]


def sm4_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding, byte-compatible with `openssl enc -sm4-cbc -K .. -iv ..`."""
    _check_key(key)
    if len(iv) != BLOCK:
        raise ValueError("IV must be 16 bytes")
    if not _OPENSSL_HAS_SM4:
        eng = _gmssl(key, encrypt=True)
        return eng.crypt_cbc(iv, plaintext)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def sm4_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of `sm4_cbc_encrypt`; raises DecryptionError on bad length or padding."""
    _check_key(key)
    if len(iv) != BLOCK or not ciphertext or len(ciphertext) % BLOCK:
        raise DecryptionError("ciphertext is not a whole number of blocks")
    if not _OPENSSL_HAS_SM4:
        return _gmssl(key, encrypt=False).crypt_cbc(iv, ciphertext)
    dec = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    data = dec.update(ciphertext) + dec.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(data) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionError("bad padding: wrong key or altered ciphertext") from exc


class _GmsslSM4(Protocol):
    """The part of gmssl's untyped `CryptSM4` used here."""

    def set_key(self, key: bytes, mode: int) -> None: ...

    def crypt_ecb(self, input_data: bytes) -> bytes: ...

    def crypt_cbc(self, iv: bytes, input_data: bytes) -> bytes: ...


def _gmssl(key: bytes, *, encrypt: bool) -> _GmsslSM4:
    from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

    eng: _GmsslSM4 = CryptSM4()
    eng.set_key(key, SM4_ENCRYPT if encrypt else SM4_DECRYPT)
    return eng
