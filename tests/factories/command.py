"""The command world: a synthetic district (far from Shanghai, so it never mixes with the demo data) with
streets, grid cells, fever clinics, teams with tracks, resource sites with stock."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import Point, box
from sqlalchemy.orm import Session

from config.runtime import Services
from store.places import Institution, Region
from store.response import ResourceSite, Stock, Team, TeamPosition
from tests.factories.places import multi

DISTRICT = "319901"
BOUNDS = (87.55, 43.75, 87.70, 43.86)  # about 12 × 12 km
TEAM_TYPES = ("epi", "sampling", "disinfection", "treatment")
STATUSES = ("standby", "standby", "dispatched", "on_site", "resting")



@dataclass
class Synthetic:
    """What the fixture wrote; `leaves` are the finest populated polygons (code, population, shape)."""

    district: str
    leaves: list[tuple[str, int, Any]] = field(default_factory=list)
    streets: dict[str, tuple[int, Any]] = field(default_factory=dict)
    street_of: dict[str, str] = field(default_factory=dict)
    clinics: list[tuple[int, Point]] = field(default_factory=list)
    teams: dict[int, tuple[str, str, Point]] = field(default_factory=dict)  # id → (status, type, point)
    sites: dict[int, Point] = field(default_factory=dict)


def _random_point(rng: np.random.Generator) -> Point:
    w, s, e, n = BOUNDS
    return Point(float(rng.uniform(w + 0.005, e - 0.005)), float(rng.uniform(s + 0.005, n - 0.005)))


def build_world(services: Services, district: str = DISTRICT, seed: int = 7) -> Synthetic:
    """Write the synthetic district once (committed)."""
    rng = np.random.default_rng(seed)
    out = Synthetic(district=district)
    tag = uuid.uuid4().hex[:6]
    outline = box(*BOUNDS)
    with services.session_factory() as s:
        s.add(Region(code=district, name="测试区", level="district", district_code=district, population=400_000,
                     geom=from_shape(multi(outline), 4326)))
        s.flush()
        _add_streets(s, rng, outline, tag, out)
        _add_institutions(s, rng, tag, out)
        _add_teams(s, rng, tag, out)
        _add_sites(s, rng, tag, out)
        s.commit()
    return out


def _add_streets(s: Session, rng: np.random.Generator, outline: Any, tag: str, out: Synthetic) -> None:
    """Four Voronoi streets; the first two carry a 3 × 3 grid, the others are leaves themselves."""
    district = out.district
    anchors = shapely.MultiPoint([_random_point(rng) for _ in range(4)])
    cells = [c.intersection(outline) for c in shapely.voronoi_polygons(anchors, extend_to=outline).geoms]
    for k, cell in enumerate(cells):
        code = f"{district}{k + 1:03d}"
        pop = int(rng.integers(40_000, 120_000))
        s.add(Region(code=code, name=f"测试街道{k + 1}", level="street", parent_code=district, district_code=district,
                     population=pop, geom=from_shape(multi(cell), 4326)))
        out.streets[code] = (pop, cell)
        s.flush()
        if k < 2:
            _add_grid(s, rng, code, cell, f"{tag}{k}", out)
        else:
            out.leaves.append((code, pop, cell))
            out.street_of[code] = code


def _add_grid(s: Session, rng: np.random.Generator, street: str, cell: Any, prefix: str, out: Synthetic) -> None:
    """A 3 × 3 grid over one street (empty or degenerate cells skipped)."""
    w, so, e, n = cell.bounds
    xs, ys = np.linspace(w, e, 4), np.linspace(so, n, 4)
    j = 0
    for i in range(3):
        for m in range(3):
            part = cell.intersection(box(xs[i], ys[m], xs[i + 1], ys[m + 1]))
            if part.is_empty or part.area < 1e-7 or part.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            j += 1
            gcode = f"h3:{prefix}{j:08d}"[:18]
            gpop = int(rng.integers(2_000, 15_000))
            s.add(Region(code=gcode, name=f"网格{j}", level="grid", parent_code=street,
                         district_code=out.district, population=gpop, geom=from_shape(multi(part), 4326)))
            out.leaves.append((gcode, gpop, part))
            out.street_of[gcode] = street


def _add_institutions(s: Session, rng: np.random.Generator, tag: str, out: Synthetic) -> None:
    """Five hospitals, the first three with a fever clinic."""
    for k in range(5):
        p = _random_point(rng)
        inst = Institution(code=f"TST-{tag}-I{k}", name=f"测试医院{k}", kind="hospital", district_code=out.district,
                           fever_clinic=k < 3, geom=from_shape(p, 4326))
        s.add(inst)
        s.flush()
        if k < 3:
            out.clinics.append((inst.id, p))


def _add_teams(s: Session, rng: np.random.Generator, tag: str, out: Synthetic) -> None:
    """25 teams of every type and status, each with a three-fix track ending at its position."""
    now = datetime.now(UTC)
    for k in range(25):
        p = _random_point(rng)
        status, kind = STATUSES[k % len(STATUSES)], TEAM_TYPES[k % 4]
        team = Team(code=f"TST-{tag}-T{k:02d}", name=f"测试队伍{k:02d}", type=kind, status=status, members=5,
                    video_online=k % 7 != 0, district_code=out.district, geom=from_shape(p, 4326), position_time=now)
        s.add(team)
        s.flush()
        for j in range(3):
            s.add(TeamPosition(source_id=f"{team.code}:{j}", team_id=team.id, time=now - timedelta(minutes=3 - j),
                               geom=from_shape(Point(p.x - 0.001 * (2 - j), p.y), 4326), input_crs="WGS84"))
        out.teams[team.id] = (status, kind, p)


def _add_sites(s: Session, rng: np.random.Generator, tag: str, out: Synthetic) -> None:
    """Four warehouses with N95 masks (some below their minimum) and swabs."""
    for k in range(4):
        p = _random_point(rng)
        site = ResourceSite(code=f"TST-{tag}-S{k}", name=f"测试物资点{k}", kind="warehouse", district_code=out.district,
                            geom=from_shape(p, 4326))
        s.add(site)
        s.flush()
        s.add_all([Stock(site_id=site.id, item_code="N95", item_name="N95口罩", category="防护用品", unit="只",
                         quantity=1000 * (k + 1), min_level=1500),
                   Stock(site_id=site.id, item_code="SWAB", item_name="采样拭子", category="采样检测", unit="份",
                         quantity=500, min_level=100)])
        out.sites[site.id] = p

