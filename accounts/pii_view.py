"""Patient identity on case reports: SM4-encrypted at rest, masked on screen, clear only when allowed (audited)."""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from accounts import audit
from accounts.principal import Principal
from accounts.scope import ScopeError, ensure_visible
from security.pii import FieldCipher, mask_address, mask_id_number, mask_name, mask_phone, normalise
from store.cases import CaseReport

FIELDS = ("name", "id_number", "phone", "address")
_MASKS = {"name": mask_name, "id_number": mask_id_number, "phone": mask_phone, "address": mask_address}


class PiiAccessDenied(PermissionError):
    """The caller asked for clear identity but may not see it."""

    code = "pii.forbidden"
    message_zh = "当前用户无权查看个人身份信息原文"


class Identity(BaseModel):
    """A patient's identity fields as they arrive (ingest) or are shown."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=50)
    id_number: str | None = Field(default=None, max_length=18, pattern=r"^[0-9]{6,17}[0-9Xx]$")
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9\- ]{5,20}$")
    address: str | None = Field(default=None, max_length=200)

    @field_validator("id_number")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return None if value is None else normalise(value)


def _aad(field: str) -> str:
    return f"case_report.{field}"


def encrypt_identity(cipher: FieldCipher, identity: Identity) -> dict[str, bytes | None]:
    """Column values for case_report: *_enc ciphertexts and the blind indexes."""
    values: dict[str, bytes | None] = {}
    for field in FIELDS:
        clear = getattr(identity, field)
        values[f"{field}_enc"] = cipher.encrypt(clear, _aad(field)) if clear else None
    values["id_number_bidx"] = cipher.blind_index(identity.id_number, "id_number") if identity.id_number else None
    values["phone_bidx"] = cipher.blind_index(identity.phone, "phone") if identity.phone else None
    return values


def encrypt_identities(cipher: FieldCipher, people: list[Any]) -> list[dict[str, bytes | None]]:
    """`encrypt_identity` of many already-validated identities (objects with the FIELDS attributes), field by field."""
    rows: list[dict[str, bytes | None]] = [{} for _ in people]
    for field in FIELDS:
        clear = [_normalised(field, getattr(p, field)) for p in people]
        _fill(rows, f"{field}_enc", clear, partial(cipher.encrypt_many, field_name=_aad(field)))
    for field in ("id_number", "phone"):
        clear = [getattr(p, field) for p in people]
        _fill(rows, f"{field}_bidx", clear, partial(cipher.blind_index_many, field_name=field))
    return rows


def _normalised(field: str, value: str | None) -> str | None:
    """As Identity stores it: ID numbers normalised (half-width, upper-case)."""
    return normalise(value) if field == "id_number" and value else value


def _fill(rows: list[dict[str, bytes | None]], column: str, clear: list[str | None],
          transform: Callable[[list[str]], list[bytes]]) -> None:
    """rows[i][column] = transform of clear[i], or None where clear[i] is empty (one call for all values)."""
    present = [i for i, value in enumerate(clear) if value]
    done = iter(transform([value for value in clear if value]))
    for row in rows:
        row[column] = None
    for i in present:
        rows[i][column] = next(done)


def set_identity(case: CaseReport, cipher: FieldCipher, identity: Identity) -> None:
    """Store `identity` on the case (encrypted); fields left None are cleared."""
    for column, value in encrypt_identity(cipher, identity).items():
        setattr(case, column, value)


def decrypt_identity(cipher: FieldCipher, case: CaseReport) -> Identity:
    """The clear identity (for internal use: masking, exports the caller has authorised)."""
    values = {f: cipher.decrypt(getattr(case, f"{f}_enc"), _aad(f)) if getattr(case, f"{f}_enc") else None
              for f in FIELDS}
    return Identity.model_construct(None, **values)


def mask_identity(identity: Identity) -> dict[str, str | None]:
    return {f: _MASKS[f](v) if (v := getattr(identity, f)) else None for f in FIELDS}


def present_identity(session: Session, *, case: CaseReport, cipher: FieldCipher, principal: Principal,
                     clear: bool = False, purpose: str | None = None, ip: str | None = None) -> dict[str, Any]:
    """The case's identity for display: masked, or clear when asked for and allowed (then audited).

    Raises ScopeError when the case is outside the caller's scope, PiiAccessDenied when clear
    text is asked for by a role or user without the PII permission.
    """
    ensure_visible(principal, district_code=case.district_code, institution_id=case.reporting_institution_id)
    identity = decrypt_identity(cipher, case)
    if not clear:
        return {**mask_identity(identity), "masked": True}
    if not principal.can_unmask_pii:
        raise PiiAccessDenied(f"{principal.username} may not view identity in clear")
    audit.record(session, actor=principal, action="pii.view", object_type="case_report", object_id=str(case.id),
                 district_code=case.district_code, ip=ip, detail={"fields": list(FIELDS), "purpose": purpose or ""})
    return {**identity.model_dump(), "masked": False}


def id_number_matches(cipher: FieldCipher, id_number: str) -> ColumnElement[bool]:
    """WHERE clause finding cases of one ID number through the blind index (no decryption)."""
    return CaseReport.id_number_bidx == cipher.blind_index(id_number, "id_number")


__all__ = ["Identity", "PiiAccessDenied", "ScopeError", "decrypt_identity", "encrypt_identity", "id_number_matches",
           "mask_identity", "present_identity", "set_identity"]
