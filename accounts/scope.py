"""Region scope as query filters: a district sees its district, an institution its own records."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import QueryableAttribute

from accounts.principal import Principal


class ScopeError(PermissionError):
    """The record lies outside the caller's region or institution."""

    code = "scope.forbidden"


def scope_clause(principal: Principal, district_column: QueryableAttribute[str],
                 institution_column: QueryableAttribute[int | None] | None = None) -> ColumnElement[bool]:
    """WHERE clause limiting rows to what `principal` may see.

    Institution users are limited by `institution_column` when the table has one, otherwise
    they see nothing (tables without an institution are district data they may not browse).
    """
    if principal.role == "institution_user":
        if institution_column is None or principal.institution_id is None:
            return false()
        return institution_column == principal.institution_id
    if principal.is_city:
        return true()
    return district_column == principal.district_code


def scope_sql(principal: Principal, district_column: str, institution_column: str | None = None,
              ) -> tuple[str, dict[str, Any]]:
    """`scope_clause` for hand-written SQL: (condition, bind parameters); the same rule, one place.

    `institution_column` is an SQL expression compared with the institution id; it may be
    `ANY(ARRAY(SELECT ...))` for records that reach institutions through a link table.
    """
    if principal.role == "institution_user":
        if institution_column is None or principal.institution_id is None:
            return "FALSE", {}
        return f":scope_inst = {institution_column}", {"scope_inst": principal.institution_id}
    if principal.is_city:
        return "TRUE", {}
    return f"{district_column} = :scope_district", {"scope_district": principal.district_code}


def precise_locations(principal: Principal) -> bool:
    """True when case locations may be shown to `principal` as recorded (6 decimals).

    Only roles with the personal-data right get the precise point; masked roles, the wall kiosk,
    the city API and institution users get the location snapped to a grid cell (layers.precision).
    View-only sessions (embeds, kiosks) are given a principal without the right by the web shell.
    """
    return principal.can_unmask_pii


def ensure_visible(principal: Principal, *, district_code: str | None, institution_id: int | None = None) -> None:
    """Raise ScopeError unless `principal` may see a record of this district / institution."""
    if not principal.may_see_institution(institution_id, district_code):
        raise ScopeError(f"{principal.username} may not see records of {district_code}/{institution_id}")
