"""Contacts' identities: SM4-encrypted at rest (the field name authenticated), SM3 blind indexes for lookups,
masked on screen, clear only for a role with the personal-data right — and then audited."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from fieldwork.errors import no_cipher, refuse
from security.pii import FieldCipher, mask_id_number, mask_name, mask_phone, normalise
from store.fieldwork import Contact

FIELDS = ("name", "id_number", "phone")
_MASKS = {"name": mask_name, "id_number": mask_id_number, "phone": mask_phone}


def _aad(field: str) -> str:
    return f"contact.{field}"


def require(cipher: FieldCipher | None) -> FieldCipher:
    if cipher is None:
        raise no_cipher()
    return cipher


def seal(contact: Contact, cipher: FieldCipher, identity: Any) -> None:
    """Store the identity fields of `identity` (an object with name, id_number, phone) on the contact."""
    for field in FIELDS:
        clear = getattr(identity, field)
        clear = normalise(clear) if clear and field == "id_number" else clear
        setattr(contact, f"{field}_enc", cipher.encrypt(clear, _aad(field)) if clear else None)
    contact.id_number_bidx = cipher.blind_index(identity.id_number, "id_number") if identity.id_number else None
    contact.phone_bidx = cipher.blind_index(identity.phone, "phone") if identity.phone else None


def unseal(contact: Contact, cipher: FieldCipher) -> dict[str, str | None]:
    return {f: cipher.decrypt(blob, _aad(f)) if (blob := getattr(contact, f"{f}_enc")) else None for f in FIELDS}


def masked(clear: dict[str, str | None]) -> dict[str, str | None]:
    return {f: _MASKS[f](v) if (v := clear[f]) else None for f in FIELDS}


def identities(session: Session, contacts: Sequence[Contact], *, cipher: FieldCipher | None, actor: Principal,
               clear: bool, purpose: str | None, district_code: str) -> dict[int, dict[str, Any]]:
    """Each contact's identity: masked, or clear when asked for and allowed (one audit row for the reading)."""
    if clear and not actor.can_unmask_pii:
        raise refuse("forbidden", "pii_forbidden", f"{actor.username} may not view identities in clear",
                     "当前用户无权查看个人身份信息原文", "clear")
    if not contacts:
        return {}
    key = require(cipher)
    shown = {c.id: unseal(c, key) for c in contacts}
    if not clear:
        return {cid: {**masked(values), "masked": True} for cid, values in shown.items()}
    audit.record(session, actor=actor, action="pii.view", object_type="investigation.contacts",
                 object_id=str(contacts[0].investigation_id), district_code=district_code,
                 detail={"fields": list(FIELDS), "purpose": purpose or "", "contact_ids": sorted(shown)})
    return {cid: {**values, "masked": False} for cid, values in shown.items()}


def id_number_matches(cipher: FieldCipher, id_number: str) -> ColumnElement[bool]:
    """WHERE clause finding contacts of one ID number through the blind index (no decryption)."""
    return Contact.id_number_bidx == cipher.blind_index(id_number, "id_number")
