"""Bulk identity encryption (intake) gives what the one-by-one path gives: same clear text back, same blind indexes."""
from __future__ import annotations

from types import SimpleNamespace

from accounts.pii_view import FIELDS, Identity, decrypt_identity, encrypt_identities, encrypt_identity
from security.pii import FieldCipher
from security.secrets import KeyRing

CIPHER = FieldCipher(KeyRing({"k1": bytes(range(16))}, "k1"), b"b" * 32)
PEOPLE: list[dict[str, str | None]] = [
    {"name": "张小明", "id_number": "11010519491231002X", "phone": "13812345678", "address": "上海市长宁区某路1号"},
    {"name": "李四", "id_number": None, "phone": None, "address": None},
    {"name": None, "id_number": "11010519491231002x", "phone": "021-12345678", "address": "上海市"},
]


def test_bulk_matches_single() -> None:
    bulk = encrypt_identities(CIPHER, [SimpleNamespace(**p) for p in PEOPLE])
    assert len(bulk) == len(PEOPLE)
    for person, columns in zip(PEOPLE, bulk, strict=True):
        single = encrypt_identity(CIPHER, Identity(**person))
        assert set(columns) == set(single)
        for column in ("id_number_bidx", "phone_bidx"):
            assert columns[column] == single[column]
        for field in FIELDS:
            assert (columns[f"{field}_enc"] is None) == (single[f"{field}_enc"] is None)
        back = decrypt_identity(CIPHER, SimpleNamespace(**columns))  # type: ignore[arg-type]
        assert back.model_dump() == Identity(**person).model_dump()


def test_bulk_nonces_differ() -> None:
    blobs = CIPHER.encrypt_many(["同一个值"] * 3, "case_report.name")
    assert len(set(blobs)) == 3
    assert {CIPHER.decrypt(b, "case_report.name") for b in blobs} == {"同一个值"}
