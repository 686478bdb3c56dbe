"""The digital envelope: only the recipient's SM2 key opens the data key; items are bound to their context."""
from __future__ import annotations

import pytest

from security.envelope import EnvelopeError, EnvelopeHeader, Sealer, open_data_key, open_item
from security.sm2 import generate_keypair


def test_the_recipient_opens_what_was_sealed_and_nobody_else() -> None:
    private, public = generate_keypair()
    sealer = Sealer(public, "city")
    sealed = [sealer.seal(f"张三{i}".encode(), f"case_report:1-{i}:1") for i in range(3)]
    key = open_data_key(private, sealer.header)
    assert [open_item(key, s, f"case_report:1-{i}:1").decode() for i, s in enumerate(sealed)] == ["张三0", "张三1", "张三2"]
    assert sealer.header.as_json()["algorithm"] == "SM2-SM4-GCM"
    with pytest.raises(EnvelopeError):
        open_data_key(generate_keypair()[0], sealer.header)


def test_a_sealed_item_does_not_open_in_another_context_or_altered() -> None:
    private, public = generate_keypair()
    sealer = Sealer(public, "city")
    sealed = sealer.seal(b"secret", "case_report:1-1:1")
    key = open_data_key(private, sealer.header)
    with pytest.raises(EnvelopeError):
        open_item(key, sealed, "case_report:1-2:1")  # moved to another record
    altered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(EnvelopeError):
        open_item(key, altered, "case_report:1-1:1")
    with pytest.raises(EnvelopeError):
        open_data_key(private, EnvelopeHeader(recipient="city", wrapped_key="not base64!"))
    with pytest.raises(EnvelopeError):
        open_data_key(private, EnvelopeHeader(recipient="city", wrapped_key=sealer.header.wrapped_key, algorithm="RSA"))
