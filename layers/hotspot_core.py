"""Where cases, exposure places and contacts coincide in space and time: the pure part of the hotspot overlay.

Each record is a sighting of one kind in one cell over days [first, last] (a case: its onset day; an
exposure place: its window; a contact: the last exposure day). Within a cell, sightings are chained in
time: sorted by their first day, a sighting joins the running group when it starts at most `window_days`
after the group's last day. A group is a hotspot when it holds at least `min_kinds` of the three kinds.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

KINDS = ("case", "place", "contact")
WINDOW_DAYS = 7
MIN_KINDS = 3


@dataclass(frozen=True)
class Sighting:
    kind: str  # one of KINDS
    cell: str
    first: date
    last: date
    street: str | None = None


@dataclass
class Hotspot:
    cell: str
    first: date
    last: date
    counts: Counter[str] = field(default_factory=Counter)
    streets: Counter[str] = field(default_factory=Counter)

    @property
    def kinds(self) -> int:
        """How many of the three kinds are present (the score)."""
        return sum(1 for k in KINDS if self.counts[k] > 0)

    def add(self, s: Sighting) -> None:
        self.last = max(self.last, s.last)
        self.counts[s.kind] += 1
        if s.street:
            self.streets[s.street] += 1


def _groups(sightings: list[Sighting], gap: timedelta) -> list[Hotspot]:
    groups: list[Hotspot] = []
    for s in sorted(sightings, key=lambda s: (s.first, s.last, s.kind)):
        if not groups or s.first > groups[-1].last + gap:
            groups.append(Hotspot(s.cell, s.first, s.last))
        groups[-1].add(s)
    return groups


def find_hotspots(sightings: Iterable[Sighting], *, window_days: int = WINDOW_DAYS,
                  min_kinds: int = MIN_KINDS) -> list[Hotspot]:
    """Groups of sightings in one cell chained within `window_days` that hold ≥ `min_kinds` kinds, best first."""
    by_cell: dict[str, list[Sighting]] = {}
    for s in sightings:
        by_cell.setdefault(s.cell, []).append(s)
    found = [g for cell in sorted(by_cell) for g in _groups(by_cell[cell], timedelta(days=window_days))
             if g.kinds >= min_kinds]
    return sorted(found, key=lambda g: (-g.kinds, -sum(g.counts.values()), g.cell, g.first))
