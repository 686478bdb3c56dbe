"""Roles × districts × endpoints: no principal ever reads or writes outside its scope.

Generic on purpose: every GET route under /api/v1 registered on the app (including those added
later by other modules) is called by every out-of-scope principal, with path ids and codes of the
other district and query parameters asking for it; no answer may contain that district's markers.
Every write route is then called with the other district's ids, and its rows must not change.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.routing import IntegerConverter, Rule

from tests.factories.scope import World


@pytest.fixture(scope="module")
def world(scope_world: Any) -> Any:
    """This module's `world`: `scope_world` (tests/factories/scope.py)."""
    return scope_world

pytestmark = pytest.mark.slow

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
STRING_CANDIDATES = ("cases", "case_points", "incidence", "institutions", "signals", "tasks", "teams", "resources",
                     "sites", "incidents", "syndromic", "lab", "schools", "pharmacies", "duty", "stock")
TILE_ARGS = ("z", "x", "y")  # /api/v1/tiles/<layer_id>/<z>/<x>/<y>.mvt: not record ids (every id³ would be millions)
SCOPE_QUERIES = ("district_code={d}&district={d}&region_code={d}&region={d}", "")


def _routes(app: Any, methods: set[str]) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.methods & methods and rule.endpoint != "health.api_not_found":
            yield rule


def _kind(arg: str) -> str:
    """task_id → task: which victim ids fit a path argument (unknown names get every id)."""
    return arg.removesuffix("_id")


def _typed(rule: Rule, victim: Any) -> bool:
    """True when every integer argument of the route names a kind of record the victim owns."""
    ints = [a for a in rule.arguments if isinstance(rule._converters[a], IntegerConverter)]
    return bool(ints) and all(_kind(a) in victim.ids for a in ints)


def _discovered_strings(app: Any, token: str) -> list[str]:
    """String ids the API itself lists (e.g. layer ids in the catalogue), to fill string path arguments."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("id", "layer", "layer_id", "kind", "name") and isinstance(value, str) and len(value) <= 40:
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    client = app.test_client()
    for rule in _routes(app, {"GET"}):
        if not rule.arguments:
            resp = client.get(rule.rule, headers={"Authorization": f"Bearer {token}"})
            if resp.mimetype == "application/json":
                walk(resp.get_json(silent=True))
            resp.close()
    return sorted(v for v in found if re.fullmatch(r"[\w.\-]+", v))[:80]


def _fill(rule: Rule, victim: Any) -> list[str]:
    """Concrete URLs for `rule` with path arguments taken from the victim district."""
    every_id = sorted(set(itertools.chain.from_iterable(victim.ids.values())))
    choices = []
    for arg in sorted(rule.arguments):
        if arg in TILE_ARGS and rule.rule.endswith(".mvt"):  # a vector tile: the world tile holds both districts
            choices.append(["0"])
        elif isinstance(rule._converters[arg], IntegerConverter):
            choices.append([str(i) for i in victim.ids.get(_kind(arg), every_id)])
        else:
            choices.append([victim.marker + "-INST1", victim.marker + "-TEAM", victim.code, *STRING_CANDIDATES,
                            *getattr(victim, "strings", [])])
    urls = []
    for combo in itertools.product(*choices) if choices else [()]:
        url = rule.rule
        for arg, value in zip(sorted(rule.arguments), combo, strict=True):
            url = re.sub(r"<(?:[^:<>]+:)?" + arg + r">", value, url)
        urls.append(url)
    return urls


def _body_text(resp: Any) -> str:
    if resp.mimetype == "text/event-stream":  # a live stream: its scope is tested by the live module
        resp.close()
        return ""
    return resp.get_data(as_text=True)


def _out_of_scope(world: World) -> list[tuple[str, list[str]]]:
    """(user key, markers it must never see)."""
    a, b = world.a, world.b
    pairs = [(f"{role}@B", [a.marker]) for role in
             ("district_commander", "district_analyst", "wall_kiosk", "institution_user")]
    pairs += [(f"{role}@A", [b.marker]) for role in ("district_commander", "district_analyst", "wall_kiosk")]
    # an institution user sees neither the other district nor the other institution of its own district
    pairs.append(("institution_user@A", [b.marker, a.marker + "-INST2"]))
    return pairs


def test_every_api_get_route_needs_authentication(app, client) -> None:  # type: ignore[no-untyped-def]
    public = {"/api/v1/openapi.json"}
    for rule in _routes(app, {"GET"}):
        if rule.rule in public:
            continue
        for url in _fill(rule, type("V", (), {"ids": {"x": [1]}, "marker": "X", "code": "310105"})())[:1]:
            resp = client.get(url)
            assert resp.status_code == 401, f"{url} answered {resp.status_code} without credentials"
            _body_text(resp)


def test_no_cross_scope_reads(app, client, world: World) -> None:  # type: ignore[no-untyped-def]
    strings = _discovered_strings(app, world.users["city_admin"][1])
    world.a.strings = world.b.strings = strings  # type: ignore[attr-defined]
    checked = 0
    for user_key, forbidden in _out_of_scope(world):
        token = world.users[user_key][1]
        victim = world.a if user_key.endswith("@B") else world.b
        for rule in _routes(app, {"GET"}):
            for url in _fill(rule, victim):
                for query in SCOPE_QUERIES if not rule.arguments else SCOPE_QUERIES[:1]:
                    full = url + ("?" + query.format(d=victim.code) if query else "")
                    resp = client.get(full, headers={"Authorization": f"Bearer {token}"})
                    body = _body_text(resp)
                    for part in url.split("/"):  # an error may echo the code that was asked for: not a leak
                        body = body.replace(part, "") if victim.marker in part else body
                    checked += 1
                    assert resp.status_code < 500, f"{user_key} GET {full} → {resp.status_code}"
                    for marker in forbidden:
                        assert marker not in body, f"{user_key} GET {full} leaked {marker}"
    assert checked > 0
    print(f"scope matrix: {checked} GET requests over {len(list(_routes(app, {'GET'})))} routes, "
          f"{len(strings)} discovered string ids")


def test_in_scope_reads_do_see_own_records(app, client, world: World) -> None:  # type: ignore[no-untyped-def]
    """The matrix above would pass vacuously if every route returned nothing; the own district must show up."""
    token = world.users["district_commander@A"][1]
    resp = client.get(f"/api/v1/dispatch/tasks/{world.a.ids['task'][0]}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and world.a.marker in resp.get_data(as_text=True)
    resp = client.get(f"/api/v1/dispatch/tasks/{world.a.ids['task'][0]}",
                      headers={"Authorization": f"Bearer {world.users['district_commander@B'][1]}"})
    assert resp.status_code in (403, 404)


_SNAPSHOT = text("""
SELECT 'task' AS t, id, md5(row_to_json(task)::text) FROM task WHERE district_code = :d
UNION ALL SELECT 'signal', id, md5(row_to_json(signal)::text) FROM signal WHERE district_code = :d
UNION ALL SELECT 'case', id, md5(row_to_json(case_report)::text) FROM case_report WHERE district_code = :d
UNION ALL SELECT 'syndromic', id, md5(row_to_json(syndromic_count)::text) FROM syndromic_count WHERE district_code = :d
UNION ALL SELECT 'team', id, md5(row_to_json(team)::text) FROM team WHERE district_code = :d
UNION ALL SELECT 'site', id, md5(row_to_json(resource_site)::text) FROM resource_site WHERE district_code = :d
UNION ALL SELECT 'incident', id, md5(row_to_json(incident)::text) FROM incident WHERE district_code = :d
""")


def _snapshot(services: Any, district: str) -> set[tuple[str, int, str]]:
    with services.engine.connect() as conn:
        return {tuple(r) for r in conn.execute(_SNAPSHOT, {"d": district})}  # type: ignore[misc]


def test_no_cross_scope_writes(app, client, services, world: World) -> None:  # type: ignore[no-untyped-def]
    a = world.a
    before = _snapshot(services, a.code)
    bodies: list[Any] = [{}, {"state": "accepted", "progress": 100, "note": "x", "counts": {"done": 1}}]
    for user_key in ("district_commander@B", "district_analyst@B", "institution_user@B", "institution_user@A"):
        token = world.users[user_key][1]
        for rule in _routes(app, WRITE_METHODS):
            if rule.rule.startswith("/api/v1/ingest"):
                continue  # below, with a real record
            victim = a
            if user_key == "institution_user@A":  # only the other institution's things are off limits
                victim = type("V", (), {"ids": {"institution": a.ids["institution"][1:]}, "marker": a.marker,
                                        "code": a.code})()
            for url in _fill(rule, victim):
                for method in sorted(rule.methods & WRITE_METHODS):
                    for body in bodies:
                        resp = client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
                        assert resp.status_code < 500, f"{user_key} {method} {url} → {resp.status_code}"
                        if _typed(rule, victim):
                            assert resp.status_code >= 400, f"{user_key} {method} {url} accepted"
    # a known write: a district-B user reports syndromic counts for a district-A institution
    record = {"institution_code": f"{a.marker}-INST1", "record_id": "scope-write", "day": "2026-01-05",
              "syndrome": "ili", "visits": 5, "cases": 1}
    for user_key in ("district_commander@B", "institution_user@B"):
        resp = client.post("/api/v1/ingest/syndromic", json={"records": [record]},
                           headers={"Authorization": f"Bearer {world.users[user_key][1]}"})
        assert resp.status_code in (403, 404, 422), resp.get_data(as_text=True)
    assert _snapshot(services, a.code) == before
