"""Print a fresh set of local secrets as KEY=value lines (used by scripts/provision.sh)."""
from __future__ import annotations

import secrets

# Order of the SM2 curve (GB/T 32918.5); a private key is 1 <= d <= n - 2.
SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def new_sm2_private_key_hex() -> str:
    return f"{secrets.randbelow(SM2_N - 2) + 1:064x}"


def main() -> None:
    print(f"SECRET_KEY={secrets.token_hex(32)}")
    print(f"PII_KEYS=k{secrets.token_hex(2)}:{secrets.token_hex(16)}")
    print(f"BLIND_INDEX_KEY={secrets.token_hex(32)}")
    print(f"AUDIT_SIGNING_KEY={new_sm2_private_key_hex()}")
    print(f"DISTRICT_SIGNING_KEY={new_sm2_private_key_hex()}")


if __name__ == "__main__":
    main()
