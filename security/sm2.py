"""SM2 (GB/T 32918) signatures and encryption over gmssl's curve arithmetic.

gmssl supplies the point multiplication; this module adds what it lacks: a CSPRNG for k,
the user-id digest Z with any id, DER signatures (as OpenSSL writes them), range and curve
checks on every input, and the C3 check on decryption. Keys are hex: private 64 digits,
public 128 digits (x‖y, no 04 prefix).
"""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmssl.sm2 import CryptSM2

from security.sm3 import sm3_digest

DEFAULT_UID = b"1234567812345678"


class SM2Error(ValueError):
    """A key, signature or ciphertext is malformed."""


@dataclass(frozen=True)
class Curve:
    """Short Weierstrass curve y² = x³ + ax + b over Fp, with base point G of order n."""

    p: int
    a: int
    b: int
    n: int
    gx: int
    gy: int

    def table(self) -> dict[str, str]:
        """The curve in gmssl's hex-table form."""
        return {"p": f"{self.p:064X}", "a": f"{self.a:064X}", "b": f"{self.b:064X}", "n": f"{self.n:064X}",
                "g": f"{self.gx:064x}{self.gy:064x}"}

    def on_curve(self, x: int, y: int) -> bool:
        return 0 <= x < self.p and 0 <= y < self.p and (y * y - x * x * x - self.a * x - self.b) % self.p == 0


# The recommended curve of GB/T 32918.5.
SM2P256 = Curve(
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)


def _engine(curve: Curve, private_hex: str = "", public_hex: str = "") -> CryptSM2:
    table = curve.table()
    eng = CryptSM2(private_key=private_hex, public_key="", ecc_table=table, mode=1)
    eng.public_key = public_hex  # set directly: gmssl's constructor lstrip("04")s keys that start with 0 or 4
    return eng


def _mul(curve: Curve, k: int, point_hex: str) -> tuple[int, int]:
    """k·P in affine coordinates (k in [1, n-1], P on the curve)."""
    out = _engine(curve)._kg(k, point_hex)
    if out is None:
        raise SM2Error("point at infinity")
    return int(out[:64], 16), int(out[64:128], 16)


def _parse_private(private_hex: str, curve: Curve) -> int:
    try:
        d = int(private_hex, 16)
    except (TypeError, ValueError) as exc:
        raise SM2Error("private key must be 64 hex digits") from exc
    if len(private_hex) != 64 or not 1 <= d <= curve.n - 2:
        raise SM2Error("private key must be 64 hex digits in [1, n-2]")
    return d


def _parse_public(public_hex: str, curve: Curve) -> tuple[int, int]:
    if len(public_hex) == 130 and public_hex[:2] == "04":
        public_hex = public_hex[2:]
    try:
        x, y = int(public_hex[:64], 16), int(public_hex[64:], 16)
    except (TypeError, ValueError) as exc:
        raise SM2Error("public key must be 128 hex digits") from exc
    if len(public_hex) != 128 or not curve.on_curve(x, y):
        raise SM2Error("public key is not a point of the curve")
    return x, y


def validate_public_key(public_hex: str) -> str:
    """The key as 128 hex digits (an 04 prefix dropped); SM2Error unless it is a point of the curve."""
    x, y = _parse_public(public_hex, SM2P256)
    return f"{x:064x}{y:064x}"


def _random_scalar(curve: Curve) -> int:
    return secrets.randbelow(curve.n - 1) + 1


def generate_keypair() -> tuple[str, str]:
    """A fresh key pair: (private hex 64, public hex 128)."""
    private_hex = f"{secrets.randbelow(SM2P256.n - 2) + 1:064x}"
    return private_hex, public_key_from_private(private_hex)


@lru_cache(maxsize=64)
def public_key_from_private(private_hex: str, curve: Curve = SM2P256) -> str:
    """d·G as 128 hex digits (cached: signing needs it for Z on every call)."""
    x, y = _mul(curve, _parse_private(private_hex, curve), f"{curve.gx:064x}{curve.gy:064x}")
    return f"{x:064x}{y:064x}"


@lru_cache(maxsize=256)
def user_digest(public_hex: str, uid: bytes = DEFAULT_UID, curve: Curve = SM2P256) -> bytes:
    """Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA)."""
    if len(uid) * 8 > 0xFFFF:
        raise SM2Error("user id too long")
    x, y = _parse_public(public_hex, curve)
    parts = [len(uid) * 8, curve.a, curve.b, curve.gx, curve.gy, x, y]
    return sm3_digest(parts[0].to_bytes(2, "big") + uid + b"".join(v.to_bytes(32, "big") for v in parts[1:]))


def sign_rs(private_hex: str, data: bytes, *, uid: bytes = DEFAULT_UID, curve: Curve = SM2P256,
            k: int | None = None) -> tuple[int, int]:
    """Signature (r, s) of `data`; `k` is only for the standard's fixed-k test vectors."""
    _parse_private(private_hex, curve)
    e = sm3_digest(user_digest(public_key_from_private(private_hex, curve), uid, curve) + data)
    eng = _engine(curve, private_hex)
    while True:
        kk = k if k is not None else _random_scalar(curve)
        out = eng.sign(e, f"{kk:064x}")
        if out is not None:
            r, s = int(out[:64], 16), int(out[64:], 16)
            if 1 <= r < curve.n and 1 <= s < curve.n:
                return r, s
        if k is not None:
            raise SM2Error("fixed k gives no valid signature")


def verify_rs(public_hex: str, data: bytes, r: int, s: int, *, uid: bytes = DEFAULT_UID,
              curve: Curve = SM2P256) -> bool:
    """True if (r, s) is a valid signature of `data` under the public key."""
    if not (1 <= r < curve.n and 1 <= s < curve.n) or (r + s) % curve.n == 0:
        return False
    try:
        x, y = _parse_public(public_hex, curve)
        e = sm3_digest(user_digest(public_hex, uid, curve) + data)
        return bool(_engine(curve, public_hex=f"{x:064x}{y:064x}").verify(f"{r:064x}{s:064x}", e))
    except (SM2Error, TypeError, ValueError):  # gmssl fails with TypeError when a sum is the point at infinity
        return False


def sm2_sign(private_hex: str, data: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    """SM3-with-SM2 signature of `data`, DER-encoded as OpenSSL writes it."""
    r, s = sign_rs(private_hex, data, uid=uid)
    return encode_dss_signature(r, s)


def sm2_verify(public_hex: str, data: bytes, signature_der: bytes, uid: bytes = DEFAULT_UID) -> bool:
    """Check a DER signature; False for any malformed input rather than an exception."""
    try:
        r, s = decode_dss_signature(signature_der)
    except (ValueError, TypeError):
        return False
    return verify_rs(public_hex, data, r, s, uid=uid)


def _kdf(z: bytes, length: int) -> bytes:
    out = b"".join(sm3_digest(z + i.to_bytes(4, "big")) for i in range(1, (length + 31) // 32 + 1))
    return out[:length]


def encrypt_raw(public_hex: str, plaintext: bytes, *, curve: Curve = SM2P256, k: int | None = None) -> bytes:
    """C1 ‖ C3 ‖ C2 (GB/T 32918.4-2016 order) with C1 = 04 ‖ x1 ‖ y1; `k` only for test vectors."""
    x, y = _parse_public(public_hex, curve)
    while True:
        kk = k if k is not None else _random_scalar(curve)
        x1, y1 = _mul(curve, kk, f"{curve.gx:064x}{curve.gy:064x}")
        x2, y2 = _mul(curve, kk, f"{x:064x}{y:064x}")
        xb, yb = x2.to_bytes(32, "big"), y2.to_bytes(32, "big")
        t = _kdf(xb + yb, len(plaintext))
        if any(t) or not plaintext:
            break
        if k is not None:
            raise SM2Error("fixed k gives an all-zero key stream")
    c2 = bytes(m ^ s for m, s in zip(plaintext, t, strict=True))
    c3 = sm3_digest(xb + plaintext + yb)
    return b"\x04" + x1.to_bytes(32, "big") + y1.to_bytes(32, "big") + c3 + c2


def decrypt_raw(private_hex: str, ciphertext: bytes, *, curve: Curve = SM2P256) -> bytes:
    """Inverse of `encrypt_raw`; raises SM2Error if C1 is off the curve or C3 does not match."""
    d = _parse_private(private_hex, curve)
    if len(ciphertext) < 97 or ciphertext[0] != 4:
        raise SM2Error("ciphertext too short or not 04-prefixed")
    x1, y1 = int.from_bytes(ciphertext[1:33], "big"), int.from_bytes(ciphertext[33:65], "big")
    if not curve.on_curve(x1, y1):
        raise SM2Error("C1 is not a point of the curve")
    c3, c2 = ciphertext[65:97], ciphertext[97:]
    x2, y2 = _mul(curve, d, f"{x1:064x}{y1:064x}")
    xb, yb = x2.to_bytes(32, "big"), y2.to_bytes(32, "big")
    t = _kdf(xb + yb, len(c2))
    if c2 and not any(t):
        raise SM2Error("all-zero key stream")
    plain = bytes(c ^ s for c, s in zip(c2, t, strict=True))
    if not secrets.compare_digest(sm3_digest(xb + plain + yb), c3):
        raise SM2Error("C3 does not match: ciphertext altered or wrong key")
    return plain


def sm2_encrypt(public_hex: str, plaintext: bytes) -> bytes:
    """SM2 public-key encryption; output C1 ‖ C3 ‖ C2."""
    return encrypt_raw(public_hex, plaintext)


def sm2_decrypt(private_hex: str, ciphertext: bytes) -> bytes:
    """SM2 decryption of `sm2_encrypt` output."""
    return decrypt_raw(private_hex, ciphertext)


# ---- PEM for interoperability with OpenSSL (SEC 1 / SPKI with the SM2 curve OID) ----

_OID_EC = bytes.fromhex("06072a8648ce3d0201")
_OID_SM2 = bytes.fromhex("06082a811ccf5501822d")


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    size = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + size + body


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def public_key_to_pem(public_hex: str) -> str:
    """SubjectPublicKeyInfo PEM, readable by `openssl pkey -pubin`."""
    _parse_public(public_hex, SM2P256)
    point = bytes.fromhex("04" + public_hex[-128:])
    return _pem("PUBLIC KEY", _der(0x30, _der(0x30, _OID_EC + _OID_SM2) + _der(0x03, b"\x00" + point)))


def private_key_to_pem(private_hex: str) -> str:
    """SEC 1 'EC PRIVATE KEY' PEM on the SM2 curve, readable by `openssl pkey`."""
    _parse_private(private_hex, SM2P256)
    point = bytes.fromhex("04" + public_key_from_private(private_hex))
    body = (bytes.fromhex("020101") + _der(0x04, bytes.fromhex(private_hex)) + _der(0xA0, _OID_SM2)
            + _der(0xA1, _der(0x03, b"\x00" + point)))
    return _pem("EC PRIVATE KEY", _der(0x30, body))


def public_key_from_pem(pem: str) -> str:
    """The 128-hex public key of an SM2 SubjectPublicKeyInfo PEM (as `openssl pkey -pubout` writes)."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    if _OID_SM2 not in der or len(der) < 65 or der[-65] != 4:
        raise SM2Error("not an SM2 public key")
    public_hex = der[-64:].hex()
    _parse_public(public_hex, SM2P256)
    return public_hex
