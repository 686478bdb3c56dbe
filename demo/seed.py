"""`onemap seed --demo`: write the whole demo data set in one transaction, deterministically."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from accounts.demo_users import create_demo_users
from accounts.pii_view import Identity, encrypt_identity
from demo import cases as casegen
from demo import geography, institutions, response
from demo.diseases import BY_CODE, DISEASES
from demo.feeds import seed_feeds
from demo.outbreaks import OUTBREAKS
from demo.persons import person
from demo.pgcopy import driver_connection
from geo.dates import CST, frozen_now
from geo.srid import SRID
from security.pii import FieldCipher
from store.accounts import Setting
from store.case_cells import NO_CELL
from store.cases import Disease, LabResult
from store.exchange import CAPTURE_SETTING
from store.places import Institution, Region, RegionAlias
from store.response import DutyRoster, ResourceSite, Stock, Team, TeamPosition

SEED = 20241123
SEEDED_KEY = "demo.seeded"
OUTBREAKS_KEY = "demo.outbreaks"
HISTORY_DAYS = 3 * 365

Progress = Callable[[str], None]


@dataclass
class SeedReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False


def _ewkt(geom: Any) -> str:
    return f"SRID={SRID};{geom.wkt}"


def is_seeded(session: Session) -> bool:
    return session.get(Setting, SEEDED_KEY) is not None


def _rngs(n: int) -> list[np.random.Generator]:
    """Independent generators per step, so changing one step leaves the others' data unchanged."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(n)]


def seed_demo(session: Session, *, cipher: FieldCipher, end: date, keys_dir: Path | None = None,
              progress: Progress = lambda _: None) -> SeedReport:
    """Write the demo data set in the caller's transaction; skip if it is already there."""
    report = SeedReport()
    if is_seeded(session):
        report.skipped = True
        return report
    cutoff = datetime(end.year, end.month, end.day, 6, 0, tzinfo=CST)
    # The history ends on `end`, whatever today is: dates are range-checked against the demo's own "now".
    with frozen_now(cutoff):
        _seed(session, cipher, end, keys_dir, progress, report)
    return report


def _seed(session: Session, cipher: FieldCipher, end: date, keys_dir: Path | None, progress: Progress,
          report: SeedReport) -> None:
    started = time.perf_counter()
    cutoff = datetime(end.year, end.month, end.day, 6, 0, tzinfo=CST)
    rng_geo, rng_inst, rng_cases, rng_pii, rng_synd, rng_team, rng_feeds = _rngs(7)
    # History, not news: the city platform is not sent years of seeded records (see store.exchange).
    session.execute(text("SELECT set_config(:name, 'off', true)"), {"name": CAPTURE_SETTING})

    progress("regions")
    regions = _write_regions(session, report)
    progress("diseases and institutions")
    _write_diseases(session, report)
    inst = _write_institutions(session, rng_inst, regions, report)
    progress("case reports")
    first_onsets = _write_cases(session, rng_cases, rng_pii, cipher, regions, inst, end, cutoff, report, progress)
    progress("syndromic counts and lab results")
    _write_syndromic(session, rng_synd, inst, end, report)
    _write_lab_results(session, rng_synd, inst, end, cutoff, report)
    progress("teams, resources, duty roster")
    _write_response(session, rng_team, regions, inst, cipher, end, cutoff, report)
    progress("other departments' feeds")
    report.counts.update(seed_feeds(session, rng=rng_feeds, end=end, regions=regions))
    if keys_dir is not None:
        report.counts["app_user"] = _write_users(session, keys_dir)
    session.add(Setting(key=OUTBREAKS_KEY, value=[{**o.as_json(), "first_onset": first_onsets.get(o.key)}
                                                  for o in OUTBREAKS]))
    session.add(Setting(key=SEEDED_KEY, value={"end": end.isoformat(), "seed": SEED, "counts": report.counts}))
    session.flush()
    report.seconds = time.perf_counter() - started


@dataclass
class Regions:
    districts: list[geography.RegionSeed]
    streets: list[geography.RegionSeed]

    @property
    def demo_district(self) -> geography.RegionSeed:
        return next(d for d in self.districts if d.code == geography.DEMO_DISTRICT)


def _write_regions(session: Session, report: SeedReport) -> Regions:
    districts = geography.districts()
    city = geography.city(districts)
    demo = next(d for d in districts if d.code == geography.DEMO_DISTRICT)
    streets = geography.streets(demo)
    grid = geography.grid(streets, demo)
    for level_rows in ([city], districts, streets, grid):
        session.execute(insert(Region), [dict(
            code=r.code, name=r.name, name_en=r.name_en, level=r.level, parent_code=r.parent_code,
            district_code=r.district_code, population=r.population, population_source=r.population_source,
            geom=_ewkt(r.geom), label_point=_ewkt(r.label), geometry_is_demo=r.is_demo, source=r.source,
        ) for r in level_rows])
    alias = geography.aliases(streets, districts)
    session.execute(insert(RegionAlias), [{"alias": a, "region_code": c} for a, c in alias.items()])
    report.counts["region"] = 1 + len(districts) + len(streets) + len(grid)
    return Regions(districts, streets)


def _write_diseases(session: Session, report: SeedReport) -> None:
    session.execute(insert(Disease), [dict(code=d.code, name=d.name, name_en=d.name_en, klass=d.klass,
                                           single_case=d.single_case, category=d.category) for d in DISEASES])
    report.counts["disease"] = len(DISEASES)


def _write_institutions(session: Session, rng: np.random.Generator, regions: Regions,
                        report: SeedReport) -> dict[str, tuple[int, institutions.InstitutionSeed]]:
    streets = {s.code: s for s in regions.streets}
    districts = {d.code: d for d in regions.districts}
    seeds = institutions.changning() + institutions.other_districts(sorted(districts))
    rows = []
    for s in seeds:
        area = streets[s.street_code].geom if s.street_code else districts[s.district_code].geom
        lon, lat = casegen.random_points(rng, area, 1)
        name = s.name or f"上海市{districts[s.district_code].name}疾病预防控制中心"
        rows.append(dict(
            code=s.code, name=name, kind=s.kind, level=s.level, fever_clinic=s.fever_clinic,
            intestinal_clinic=s.intestinal_clinic, sentinel_types=list(s.sentinel_types), is_lab=s.is_lab,
            vaccination_clinic=s.vaccination_clinic, region_code=s.street_code or s.district_code,
            district_code=s.district_code, geom=f"SRID={SRID};POINT({lon[0]:.6f} {lat[0]:.6f})",
            position_is_demo=True, input_crs="WGS84",
            source="name: public list; position: demo (random inside its street/district)",
        ))
    session.execute(insert(Institution), rows)
    ids = dict(session.execute(select(Institution.code, Institution.id)).all())
    report.counts["institution"] = len(rows)
    return {s.code: (ids[s.code], s) for s in seeds}


def _reporters(inst: dict[str, tuple[int, institutions.InstitutionSeed]], district: str) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(i, s.report_weight) for i, s in inst.values() if s.district_code == district]
    ids = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs], dtype=float)
    return ids, w / w.sum()


def _write_cases(session: Session, rng: np.random.Generator, rng_pii: np.random.Generator, cipher: FieldCipher,
                 regions: Regions, inst: dict[str, tuple[int, institutions.InstitutionSeed]], end: date,
                 cutoff: datetime, report: SeedReport, progress: Progress) -> dict[str, str]:
    """Write the case reports; returns each planted outbreak's first onset (ISO date) of the cases written."""
    days = np.arange(np.datetime64(end - timedelta(days=HISTORY_DAYS - 1)), np.datetime64(end + timedelta(days=1)))
    batches = []
    for d in regions.districts:
        areas = ([(s.code, s.geom, s.population) for s in regions.streets] if d.code == geography.DEMO_DISTRICT
                 else [(d.code, d.geom, d.population)])
        batches.append(casegen.background(rng, days, d.code, d.population, areas))
    batches.append(casegen.planted_all(SEED, end, regions.demo_district.geom))
    c = casegen.CaseBatch.concat(batches)
    _assign_streets(c, regions.streets)
    order = np.lexsort((c.district, c.onset))
    c = casegen.CaseBatch(*(getattr(c, f)[order] for f in casegen.CaseBatch.__dataclass_fields__))
    times = casegen.timelines(rng, c.onset, cutoff)
    known = times.pop("known")  # cases reported after the cutoff do not exist yet
    c = casegen.CaseBatch(*(getattr(c, f)[known] for f in casegen.CaseBatch.__dataclass_fields__))
    times = {k: v[known] for k, v in times.items()}
    n = len(c)
    reporter = _pick_reporters(rng, c, inst)
    cols = _case_columns(rng, rng_pii, c, cutoff.date())
    ewkt = np.char.add(np.char.add(np.char.add("SRID=4326;POINT(", np.char.mod("%.6f", c.lon)), " "),
                       np.char.add(np.char.mod("%.6f", c.lat), ")"))
    onset_text = np.datetime_as_string(c.onset, unit="D")
    names = ("source_id", "source_version", "disease_code", "case_type", "onset_date", "diagnosis_time", "report_time",
             "audit_time", "reporting_institution_id", "region_code", "district_code", "geom", "input_crs", "age",
             "sex", "occupation", "outcome", "death_date", "name_enc", "id_number_enc", "phone_enc", "address_enc",
             "id_number_bidx", "phone_bidx", "grid_code")
    # Plain lists index far faster than numpy object arrays in the row loop.
    disease, region, district, age = c.disease.tolist(), c.region.tolist(), c.district.tolist(), c.age.tolist()
    case_type, sex, occupation = cols["case_type"].tolist(), cols["sex"].tolist(), cols["occupation"].tolist()
    outcome, death = cols["outcome"].tolist(), cols["death_date"].tolist()
    diagnosis, reported, audited = times["diagnosis"].tolist(), times["report"].tolist(), times["audit"].tolist()
    onset_text, ewkt, reporter = onset_text.tolist(), ewkt.tolist(), reporter.tolist()
    raw = driver_connection(session)
    copy_sql = f"COPY case_report ({', '.join(names)}) FROM STDIN"
    with _indexes_rebuilt_after(session, "case_report"), raw.cursor() as cur, cur.copy(copy_sql) as copy:
        for k in range(n):
            in_demo = district[k] == geography.DEMO_DISTRICT
            pii = _pii(cipher, rng_pii, c, k, sex[k] == "F") if in_demo else _NO_PII
            copy.write_row((
                f"{reporter[k]}:{onset_text[k][:4]}{k:07d}", 1, disease[k], case_type[k], onset_text[k],
                diagnosis[k], reported[k], audited[k] or None, reporter[k], region[k], district[k], ewkt[k],
                "WGS84", age[k], sex[k], occupation[k] or None, outcome[k], death[k] or None, *pii,
                None if in_demo else NO_CELL,  # only the demo district has grid cells: the trigger finds its cases'
            ))
            if k % 100_000 == 0 and k:
                progress(f"case reports {k:,}/{n:,}")
    report.counts["case_report"] = n
    return _first_onsets(c)


def _first_onsets(c: casegen.CaseBatch) -> dict[str, str]:
    """The earliest onset of each planted outbreak's cases: the triangular curve starts at zero, so the
    first case often falls a day or two after the nominal start (`starts_days_before_end`)."""
    return {str(key): str(np.datetime_as_string(c.onset[c.outbreak == key].min(), unit="D"))
            for key in np.unique(c.outbreak[c.outbreak != ""])}


_NO_PII = (None,) * 6


def _assign_streets(c: casegen.CaseBatch, streets: list[geography.RegionSeed]) -> None:
    """Set the street of every demo-district case from its point (planted cases are placed by radius)."""
    mask = c.district == geography.DEMO_DISTRICT
    for street in streets:
        inside = mask & shapely.contains_xy(street.geom, c.lon, c.lat)
        c.region[inside] = street.code


@contextmanager
def _indexes_rebuilt_after(session: Session, table: str) -> Iterator[None]:
    """Drop the table's secondary indexes for a bulk load and rebuild them after (a sorted GiST build
    is many times faster than inserting 700,000 points one by one)."""
    defs = session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"), {"t": table}).all()
    for name, _ in defs:
        session.execute(text(f'DROP INDEX "{name}"'))
    yield
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for _, definition in defs:
        session.execute(text(definition))


def _pick_reporters(rng: np.random.Generator, c: casegen.CaseBatch,
                    inst: dict[str, tuple[int, institutions.InstitutionSeed]]) -> np.ndarray:
    """Reporting institution per case: weighted within its district; outbreaks by their sentinels."""
    out = np.zeros(len(c), dtype=int)
    for district in np.unique(c.district):
        idx = np.flatnonzero(c.district == district)
        pairs = [(i, s.report_weight) for i, s in inst.values() if s.district_code == district]
        w = np.array([p[1] for p in pairs], dtype=float)
        out[idx] = rng.choice([p[0] for p in pairs], size=len(idx), p=w / w.sum())
    for o in OUTBREAKS:
        idx = np.flatnonzero(c.outbreak == o.key)
        out[idx] = rng.choice([inst[code][0] for code in o.sentinel_codes], size=len(idx))
    return out


def _case_columns(rng: np.random.Generator, rng_pii: np.random.Generator, c: casegen.CaseBatch,
                  cutoff_day: date) -> dict[str, np.ndarray]:
    """Case type, sex, occupation, outcome and death date, vectorised."""
    n = len(c)
    u = rng.uniform(size=(n, 3))
    cfr = np.array([BY_CODE[d].cfr for d in c.disease]) * np.where(c.age > 70, 3, 1)
    age_days = (np.datetime64(cutoff_day, "D") - c.onset).astype(int)
    died = u[:, 1] < cfr
    occupation = np.select(
        [c.age < 3, c.age < 7, c.age < 19, c.age >= 65],
        ["散居儿童", "幼托儿童", "学生", "离退人员"],
        default=rng_pii.choice(np.array(casegen.OCCUPATIONS[3:]), n),
    )
    return {
        "case_type": np.where(u[:, 0] < 0.85, "confirmed", np.where(u[:, 0] < 0.95, "clinical", "suspected")),
        "sex": np.where(u[:, 2] < 0.5, "F", "M"),
        "occupation": np.where(rng.uniform(size=n) < 0.02, "", occupation),  # 2% incomplete cards
        "outcome": np.where(died, "died", np.where(age_days > 30, "recovered", "under_treatment")),
        "death_date": np.where(died & (age_days > 10),
                               np.datetime_as_string(c.onset + np.timedelta64(10, "D"), unit="D"), ""),
    }


def _pii(cipher: FieldCipher, rng: np.random.Generator, c: casegen.CaseBatch, k: int,
         female: bool) -> tuple[bytes | None, ...]:
    onset = c.onset[k].astype(date)
    age = int(c.age[k])
    birth = date(onset.year - age, 1 + k % 12, 1 + k % 28)
    v = encrypt_identity(cipher, Identity(**person(rng, c.district[k], birth, female=female, seq=k)))
    return (v["name_enc"], v["id_number_enc"], v["phone_enc"], v["address_enc"], v["id_number_bidx"], v["phone_bidx"])


# Daily visits of a sentinel by kind, and the syndrome shares that follow disease seasons.
_VISITS = {"hospital": 2500, "chc": 350, "cdc": 0}
_SYNDROME_SHARE = {"fever": 0.06, "ili": 0.03, "ari": 0.05, "diarrhoea": 0.015}
_SYNDROME_SEASON = {"fever": "influenza", "ili": "influenza", "ari": "influenza", "diarrhoea": "diarrhoea"}
_SYNDROMES_OF = {"ILI": ("ili",), "SARI": ("ari",), "diarrhoea": ("diarrhoea",),
                 "comprehensive": ("fever", "diarrhoea", "ili", "ari")}


def _write_syndromic(session: Session, rng: np.random.Generator,
                     inst: dict[str, tuple[int, institutions.InstitutionSeed]], end: date, report: SeedReport) -> None:
    days = np.arange(np.datetime64(end - timedelta(days=HISTORY_DAYS - 1)), np.datetime64(end + timedelta(days=1)))
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    week_factor = np.where(weekday >= 5, 0.6, 1.0)
    season = {s: casegen.season_profile(BY_CODE[d], days) for s, d in _SYNDROME_SEASON.items()}
    boost = _outbreak_boosts(days, end)
    raw = driver_connection(session)
    n = 0
    with raw.cursor() as cur, cur.copy(
        "COPY syndromic_count (source_id, institution_id, district_code, day, syndrome, visits, cases) FROM STDIN"
    ) as copy:
        for code, (iid, s) in sorted(inst.items()):
            if s.district_code != geography.DEMO_DISTRICT or not s.sentinel_types:
                continue
            syndromes = sorted({x for t in s.sentinel_types for x in _SYNDROMES_OF[t]})
            visits = rng.poisson(_VISITS[s.kind] * week_factor * rng.gamma(30, 1 / 30, len(days)))
            for syn in syndromes:
                p = np.clip(_SYNDROME_SHARE[syn] * season[syn] * rng.gamma(20, 1 / 20, len(days)), 0, 0.5)
                extra = boost.get((code, syn), np.zeros(len(days), dtype=int))
                counts = rng.binomial(visits, p) + extra
                for j, day in enumerate(days.astype(date)):
                    copy.write_row((f"{code}:{day:%Y%m%d}:{syn}", iid, s.district_code, day, syn,
                                    int(visits[j] + extra[j]), int(counts[j])))
                    n += 1
    report.counts["syndromic_count"] = n


def _outbreak_boosts(days: np.ndarray, end: date) -> dict[tuple[str, str], np.ndarray]:
    """Extra syndromic cases at the sentinels near each planted outbreak, on its days."""
    out: dict[tuple[str, str], np.ndarray] = {}
    for o in OUTBREAKS:
        if not o.syndrome:
            continue
        start = np.datetime64(end - timedelta(days=o.starts_days_before_end), "D")
        t = (days - start).astype(int)
        peak = o.duration_days / 3
        shape = np.where((t >= 0) & (t <= o.duration_days),
                         np.where(t <= peak, t / max(peak, 1), (o.duration_days - t) / (o.duration_days - peak)), 0)
        for code in o.sentinel_codes:
            out[(code, o.syndrome)] = np.round(shape * o.cases / 4).astype(int)
    return out


# Sentinel sampling: (syndrome-sentinel type, samples a week, pathogens with the season that drives positivity)
_LAB_PANELS = {
    "ILI": (15, "influenza", ("甲型H3N2流感病毒", "甲型H1N1pdm09流感病毒", "乙型Victoria流感病毒")),
    "diarrhoea": (10, "diarrhoea", ("诺如病毒GII", "轮状病毒", "沙门菌")),
}


def _write_lab_results(session: Session, rng: np.random.Generator,
                       inst: dict[str, tuple[int, institutions.InstitutionSeed]], end: date, cutoff: datetime,
                       report: SeedReport) -> None:
    """Weekly sentinel samples tested at the district CDC lab; positivity follows the season."""
    lab_id = inst["CN-CDC"][0]
    start = end - timedelta(days=HISTORY_DAYS - 1)
    days = np.arange(np.datetime64(start), np.datetime64(end + timedelta(days=1)))
    planted = {o.disease_code: o for o in OUTBREAKS}
    rows = []
    for code, (iid, s) in sorted(inst.items()):
        for sentinel, (weekly, disease, pathogens) in _LAB_PANELS.items():
            if sentinel not in s.sentinel_types:
                continue
            positivity = np.clip(0.08 * casegen.season_profile(BY_CODE[disease], days), 0, 0.7)
            daily = rng.poisson(weekly / 7, len(days))
            for j, day in enumerate(days.astype(date)):
                for n in range(int(daily[j])):
                    sample_time = datetime(day.year, day.month, day.day, 9, tzinfo=CST) + timedelta(hours=n)
                    result_time = sample_time + timedelta(hours=30)
                    positive = rng.uniform() < positivity[j]
                    rows.append(dict(
                        source_id=f"CN-CDC-LAB:{code}:{sentinel}:{day:%Y%m%d}:{n}", lab_institution_id=lab_id,
                        sample_id=f"S{day:%Y%m%d}{iid:03d}{sentinel[0]}{n:02d}",
                        pathogen=str(rng.choice(pathogens)) if positive else pathogens[0],
                        result="positive" if positive else "negative", sample_time=sample_time,
                        result_time=result_time if result_time <= cutoff else None,
                        region_code=s.street_code, district_code=s.district_code,
                    ))
    outbreak = planted.get("diarrhoea")
    if outbreak:  # the current outbreak's specimens: norovirus GII
        first = end - timedelta(days=outbreak.starts_days_before_end - 3)
        for n in range(8):
            t = datetime(first.year, first.month, first.day, 10, tzinfo=CST) + timedelta(hours=2 * n)
            rows.append(dict(source_id=f"CN-CDC-LAB:outbreak:{n}", lab_institution_id=lab_id,
                             sample_id=f"OB{first:%Y%m%d}{n:02d}", pathogen="诺如病毒GII",
                             result="positive" if n < 6 else "negative", sample_time=t,
                             result_time=t + timedelta(hours=20), region_code=outbreak.street_code,
                             district_code=outbreak.street_code[:6]))
    session.execute(insert(LabResult), rows)
    report.counts["lab_result"] = len(rows)


def _write_response(session: Session, rng: np.random.Generator, regions: Regions,
                    inst: dict[str, tuple[int, institutions.InstitutionSeed]], cipher: FieldCipher, end: date,
                    cutoff: datetime, report: SeedReport) -> None:
    """Teams and their tracks, resource sites and their stock, and the duty roster of the demo district."""
    district = regions.demo_district
    inst_point: dict[str, Any] = dict(session.execute(select(Institution.code, Institution.geom)).all())
    teams, positions = _write_teams(session, rng, district, inst, inst_point, cutoff)
    sites, stock = _write_sites(session, rng, district, inst, inst_point)
    roster = _write_roster(session, rng, district.code, cipher, end)
    report.counts.update(team=teams, team_position=positions, resource_site=sites, stock=stock, duty_roster=roster)


def _write_teams(session: Session, rng: np.random.Generator, district: geography.RegionSeed,
                 inst: dict[str, tuple[int, institutions.InstitutionSeed]], inst_point: dict[str, Any],
                 cutoff: datetime) -> tuple[int, int]:
    """The response teams at their home institutions, each with a track of six GPS fixes; the two counts."""
    home_xy = {c: (x, y) for c, x, y in session.execute(
        select(Institution.code, func.ST_X(Institution.geom), func.ST_Y(Institution.geom)))}
    statuses = ["standby"] * 14 + ["on_site"] * 2 + ["dispatched"] * 2 + ["resting"] * 2
    teams = []
    for k, (code, name, kind, members, home) in enumerate(response.TEAMS):
        teams.append(dict(code=code, name=name, type=kind, status=statuses[k], members=members,
                          video_online=bool(rng.uniform() < 0.92), institution_id=inst[home][0],
                          district_code=district.code, geom=inst_point[home], position_time=cutoff))
    session.execute(insert(Team), teams)
    team_ids = dict(session.execute(select(Team.code, Team.id)).all())
    positions = []
    for code, _, _, _, home in response.TEAMS:
        lon, lat = _walk(rng, home_xy[home], district.geom, 6)
        for j in range(6):
            positions.append(dict(source_id=f"{code}:seed:{j}", team_id=team_ids[code],
                                  time=cutoff - timedelta(minutes=5 * (6 - j)),
                                  geom=f"SRID={SRID};POINT({lon[j]:.6f} {lat[j]:.6f})", input_crs="WGS84"))
    session.execute(insert(TeamPosition), positions)
    # The last fix is the team's current position.
    session.execute(text("""UPDATE team t SET geom = p.geom, position_time = p.time FROM (
        SELECT DISTINCT ON (team_id) team_id, geom, time FROM team_position ORDER BY team_id, time DESC) p
        WHERE p.team_id = t.id"""))
    return len(teams), len(positions)


def _write_sites(session: Session, rng: np.random.Generator, district: geography.RegionSeed,
                 inst: dict[str, tuple[int, institutions.InstitutionSeed]],
                 inst_point: dict[str, Any]) -> tuple[int, int]:
    """The resource sites (at an institution, or placed at random) and their stock lines; the two counts."""
    sites = []
    for code, name, kind, home in response.SITES:
        geom = inst_point[home] if home else None
        if not home:
            lon, lat = casegen.random_points(rng, district.geom, 1)
            geom = f"SRID={SRID};POINT({lon[0]:.6f} {lat[0]:.6f})"
        sites.append(dict(code=code, name=name, kind=kind, institution_id=inst[home][0] if home else None,
                          district_code=district.code, geom=geom, position_is_demo=True))
    session.execute(insert(ResourceSite), sites)
    site_ids = dict(session.execute(select(ResourceSite.code, ResourceSite.id)).all())
    stock = []
    for code, _, kind, _ in response.SITES:
        scale = 1.0 if kind == "warehouse" else (0.25 if kind == "hospital_store" else 0.08)
        for item in response.ITEMS:
            minimum = round(item.base * scale * 0.3)
            # About one item in eight is below its minimum, so the command map has something to show.
            level = rng.uniform(0.1, 0.9) if rng.uniform() < 0.12 else rng.uniform(1.1, 2.5)
            stock.append(dict(site_id=site_ids[code], item_code=item.code, item_name=item.name,
                              category=item.category, unit=item.unit, quantity=round(minimum * level),
                              min_level=minimum))
    session.execute(insert(Stock), stock)
    return len(sites), len(stock)


def _write_roster(session: Session, rng: np.random.Generator, district_code: str, cipher: FieldCipher,
                  end: date) -> int:
    """A fortnight of duty roster around the reference date, names and phones encrypted; the row count."""
    roster = []
    for offset in range(-7, 8):
        day = end + timedelta(days=offset)
        for j, role in enumerate(response.DUTY_ROLES):
            p = person(rng, district_code, date(1980, 1 + j, 1 + offset + 7), bool(j % 2), offset * 10 + j)
            roster.append(dict(district_code=district_code, day=day, duty_role=role,
                               org_name="长宁区卫生健康委员会" if j == 0 else "长宁区疾病预防控制中心",
                               person_name_enc=cipher.encrypt(p["name"], "name"),
                               person_name_bidx=cipher.blind_index(p["name"] + f"|{day}|{role}", "name"),
                               phone_enc=cipher.encrypt(p["phone"], "phone")))
    session.execute(insert(DutyRoster), roster)
    return len(roster)


def _walk(rng: np.random.Generator, start: tuple[float, float], area: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n GPS fixes 5 minutes apart: a walk of a few hundred metres a step from the home point, inside `area`."""
    x, y = start
    lon, lat = np.empty(n), np.empty(n)
    for j in range(n):
        for _ in range(20):  # redraw a step that would leave the district
            nx, ny = x + rng.normal(0, 0.0025), y + rng.normal(0, 0.002)
            if shapely.contains_xy(area, nx, ny):
                x, y = round(nx, 6), round(ny, 6)
                break
        lon[j], lat[j] = x, y
    return lon, lat


def _write_users(session: Session, keys_dir: Path) -> int:
    return len(create_demo_users(session, district_code=geography.DEMO_DISTRICT, keys_dir=keys_dir))
