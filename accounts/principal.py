"""The authenticated caller and the region scope every query must respect."""
from __future__ import annotations

from dataclasses import dataclass

CITY_CODE = "310000"

WRITE_ROLES = frozenset({"city_admin", "district_commander", "district_analyst", "institution_user", "city_api"})
PII_ROLES = frozenset({"city_admin", "district_commander", "district_analyst"})


@dataclass(frozen=True)
class Principal:
    """A logged-in user, token holder or signed API client."""

    user_id: int
    username: str
    role: str
    org_id: int
    # '310000' for the city, a 6-digit district code, or the institution's district
    region_code: str
    institution_id: int | None = None
    may_view_pii: bool = False

    @property
    def is_city(self) -> bool:
        return self.region_code == CITY_CODE

    @property
    def district_code(self) -> str | None:
        """The one district this principal is limited to, or None for city-wide roles."""
        return None if self.is_city else self.region_code[:6]

    def may_see_district(self, district_code: str | None) -> bool:
        return self.is_city or (district_code is not None and district_code[:6] == self.district_code)

    def may_see_institution(self, institution_id: int | None, district_code: str | None) -> bool:
        """Institution users see only their own records; others by district."""
        if self.role == "institution_user":
            return institution_id is not None and institution_id == self.institution_id
        return self.may_see_district(district_code)

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def can_unmask_pii(self) -> bool:
        return self.may_view_pii and self.role in PII_ROLES
