"""Throughput of our SM2/SM3/SM4 wrappers next to plain gmssl (pure Python). Prints a table; no assertions.

Run: .venv/bin/python bench/bench_crypto.py [--seconds 1.0]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gmssl import func  # noqa: E402
from gmssl import sm3 as g_sm3
from gmssl.sm2 import CryptSM2  # noqa: E402
from gmssl.sm4 import SM4_ENCRYPT, CryptSM4  # noqa: E402

from security.sm2 import generate_keypair, sm2_decrypt, sm2_encrypt, sm2_sign, sm2_verify  # noqa: E402
from security.sm3 import pbkdf2_sm3, sm3_digest, sm3_hmac  # noqa: E402
from security.sm4 import sm4_cbc_encrypt, sm4_gcm_encrypt  # noqa: E402


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` over about `seconds`."""
    fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        n += 1
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    s = parser.parse_args().seconds

    priv, pub = generate_keypair()
    msg = b"onemap audit checkpoint " * 4
    sig = sm2_sign(priv, msg)
    g = CryptSM2(private_key=priv, public_key="")
    g.public_key = pub  # gmssl's constructor would lstrip('04') a key starting with 0/4
    g_sig = g.sign_with_sm3(msg)
    ct = sm2_encrypt(pub, msg)
    g_ct = g.encrypt(msg)

    rows = [
        ("SM2 sign", "ops/s", rate(lambda: sm2_sign(priv, msg), s), rate(lambda: g.sign_with_sm3(msg), s)),
        ("SM2 verify", "ops/s", rate(lambda: sm2_verify(pub, msg, sig), s), rate(lambda: g.verify_with_sm3(g_sig, msg), s)),
        ("SM2 encrypt 96 B", "ops/s", rate(lambda: sm2_encrypt(pub, msg), s), rate(lambda: g.encrypt(msg), s)),
        ("SM2 decrypt 96 B", "ops/s", rate(lambda: sm2_decrypt(priv, ct), s), rate(lambda: g.decrypt(g_ct), s)),
    ]
    mib = 1024 * 1024
    for size in (64, 64 * 1024):
        data = os.urandom(size)
        as_list = func.bytes_to_list(data)
        rows.append((f"SM3 {size} B", "MiB/s", rate(lambda data=data: sm3_digest(data), s) * size / mib,
                     rate(lambda as_list=as_list: g_sm3.sm3_hash(as_list), s) * size / mib))
    key, iv = os.urandom(16), os.urandom(16)
    g4 = CryptSM4()
    g4.set_key(key, SM4_ENCRYPT)
    for size in (64, 64 * 1024):
        data = os.urandom(size)
        rows.append((f"SM4-CBC {size} B", "MiB/s", rate(lambda data=data: sm4_cbc_encrypt(key, iv, data), s) * size / mib,
                     rate(lambda data=data: g4.crypt_cbc(iv, data), s) * size / mib))
        rows.append((f"SM4-GCM {size} B", "MiB/s", rate(lambda data=data: sm4_gcm_encrypt(key, data), s) * size / mib, None))
    rows.append(("HMAC-SM3 64 B", "ops/s", rate(lambda: sm3_hmac(key, msg), s), None))
    rows.append(("PBKDF2-SM3 100k it.", "hash/s", rate(lambda: pbkdf2_sm3(b"Passw0rd!", iv, 100_000), s), None))

    def num(x: float | None) -> str:
        return f"{'-':>14}" if x is None else f"{x:14.3f}" if x < 10 else f"{x:14.1f}"

    print(f"{'operation':<22}{'unit':>8}{'ours':>14}{'gmssl':>14}{'ours/gmssl':>12}")
    for name, unit, ours, theirs in rows:
        ratio = f"{ours / theirs:10.1f}x" if theirs else "         -"
        print(f"{name:<22}{unit:>8}{num(ours)}{num(theirs)}{ratio:>12}")


if __name__ == "__main__":
    main()
