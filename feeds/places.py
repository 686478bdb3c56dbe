"""Place names in free text to regions (points and region codes: store.locate)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PlaceMatch:
    """A place name found in a text: the name as written, the region, its level and district."""

    name: str
    region_code: str
    level: str
    district_code: str


class Gazetteer:
    """Street and district names and their aliases (region_alias), matched longest-first in text."""

    def __init__(self, names: dict[str, tuple[str, str, str]]) -> None:
        # name → (region code, level, district code); longer names first so 仙霞新村街道 beats 仙霞
        self.names = names
        self._order = sorted(names, key=lambda n: (-len(n), n))

    @classmethod
    def load(cls, session: Session) -> Gazetteer:
        """Names of every district and street, plus every alias, from the database."""
        rows = session.execute(text("""
            SELECT r.name AS name, r.code, r.level, COALESCE(r.district_code, left(r.code, 6)) AS district
            FROM region r WHERE r.level IN ('district', 'street')
            UNION ALL
            SELECT a.alias, r.code, r.level, COALESCE(r.district_code, left(r.code, 6))
            FROM region_alias a JOIN region r ON r.code = a.region_code WHERE r.level IN ('district', 'street')"""))
        names: dict[str, tuple[str, str, str]] = {}
        for r in rows:
            if len(r.name) >= 2:
                names.setdefault(r.name, (r.code, r.level, r.district))
        return cls(names)

    def find(self, text_: str | None) -> list[PlaceMatch]:
        """Every place named in `text_`, longest names first, without overlapping matches."""
        if not text_:
            return []
        taken = [False] * len(text_)
        out = []
        for name in self._order:
            start = text_.find(name)
            while start >= 0:
                span = range(start, start + len(name))
                if not any(taken[i] for i in span):
                    for i in span:
                        taken[i] = True
                    code, level, district = self.names[name]
                    out.append(PlaceMatch(name, code, level, district))
                start = text_.find(name, start + 1)
        return out

    def best(self, *texts: str | None) -> PlaceMatch | None:
        """The most precise place of the first text that names one: a street over a district.

        A street only counts if every district named alongside it is its own (长宁 + 仙霞 → 仙霞新村街道).
        """
        for t in texts:
            found = self.find(t)
            if not found:
                continue
            districts = {m.district_code for m in found if m.level == "district"}
            streets = [m for m in found if m.level == "street" and (not districts or m.district_code in districts)]
            if streets:
                return streets[0]
            return next((m for m in found if m.level == "district"), found[0])
        return None
