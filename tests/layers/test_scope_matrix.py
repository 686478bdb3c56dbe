"""Every map layer × every area filter form × every role: nothing of another district (issue 14, finding 4).

tests/dashboard/api/test_scope_matrix.py calls every /api/v1 GET route with ?district_code=; this matrix
goes deeper into the layers: each registered layer id is asked with every way of naming an area
(region, district_code, bbox, institution, street, grid cell, h3 cell, none) of the other district,
by every district role, and the monitor's Dash callbacks that take a region are asked the same.
Markers (names, titles, disease codes) that only the other district has must never appear.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from layers.registry import all_layers
from tests.factories.layer_world import PERIOD, LayerDistrict, LayerWorld, build_layer_world
from tests.factories.users import login

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lw(services) -> LayerWorld:  # type: ignore[no-untyped-def]
    return build_layer_world(services)


def filter_forms(v: LayerDistrict) -> dict[str, str]:
    """Every way a request can name an area of district `v`."""
    return {"none": "", "region": f"region={v.code}", "district_code": f"district_code={v.code}",
            "bbox": f"bbox={v.bbox}", "bbox_both": "bbox=99,9,104,12", "institution": f"institution={v.inst[0]}",
            "region_inst": f"region=inst:{v.inst[0]}", "street": f"street={v.street}",
            "region_street": f"region={v.street}", "grid": f"grid={v.grid}", "region_grid": f"region={v.grid}",
            "grid_h3": f"grid={v.h3}", "region_h3": f"region={v.h3}"}


def out_of_scope(lw: LayerWorld) -> Iterator[tuple[str, LayerDistrict, list[str]]]:
    """(user key, the district it asks about, markers it must not see)."""
    for me, _other, od in (("X", "Y", lw.y), ("Y", "X", lw.x)):
        for role in ("district_commander", "district_analyst", "masked_analyst", "wall_kiosk", "institution_user"):
            yield f"{role}@{me}", od, [od.marker]
    # an institution user asks for its own district and the other institution of it
    yield "institution_user@X", lw.x, [lw.y.marker, lw.x.marker + "I2"]


def _get(client: Any, token: str, url: str) -> tuple[int, str]:
    resp = client.get(url, headers={"Authorization": f"Bearer {token}"})
    return resp.status_code, resp.get_data(as_text=True)


def test_coverage_of_another_district_is_refused(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    """The probe's reproduction: Xuhui's token, coverage?region=<Changning> returned Changning's streets."""
    for who in ("district_analyst@Y", "institution_user@Y", "institution_user@X"):
        status, body = _get(client, lw.users[who][1], f"/api/v1/layers/coverage?region={lw.x.code}")
        assert status == 403, (who, status, body[:300])
        assert f"{lw.x.marker}街道" not in body
    status, body = _get(client, lw.users["district_analyst@X"][1], f"/api/v1/layers/coverage?region={lw.x.code}")
    assert status == 200 and f"{lw.x.marker}街道" in body


def test_layer_matrix_leaks_nothing(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    layers = sorted(all_layers())
    checked = leaks = 0
    failures = []
    for user_key, victim, forbidden in out_of_scope(lw):
        token = lw.users[user_key][1]
        for layer_id in layers:
            for form, query in filter_forms(victim).items():
                url = f"/api/v1/layers/{layer_id}?{PERIOD}" + (f"&{query}" if query else "")
                status, body = _get(client, token, url)
                checked += 1
                if status >= 500:
                    failures.append(f"{user_key} {url} → {status}")
                for marker in forbidden:
                    if marker in body:
                        leaks += 1
                        failures.append(f"{user_key} {url} ({form}) leaked {marker}")
    print(f"layer scope matrix: {checked} requests, {len(layers)} layers, {leaks} leaks")
    assert checked >= 10 * len(layers) * len(filter_forms(lw.x))
    assert not failures, "\n".join(failures[:40])


def test_city_roles_and_own_district_see_their_data(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    """The matrix would pass vacuously if every layer answered nothing: in-scope callers see the markers."""
    own = {layer: 0 for layer in all_layers()}
    for user_key, district in (("district_analyst@X", lw.x), ("district_commander@Y", lw.y)):
        for layer_id in own:
            status, body = _get(client, lw.users[user_key][1], f"/api/v1/layers/{layer_id}?{PERIOD}")
            assert status == 200, (user_key, layer_id, body[:300])
            own[layer_id] += district.marker in body
    blind = {"cases.heat"}  # an image: no names in it
    assert [k for k, n in own.items() if n < 2 and k not in blind] == []
    for user_key in ("city_admin", "city_api"):
        status, body = _get(client, lw.users[user_key][1], f"/api/v1/layers/cases?{PERIOD}&bbox=99,9,104,12")
        assert status == 200 and lw.x.marker in body and lw.y.marker in body, user_key


def test_institution_user_sees_only_its_institution(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    token = lw.users["institution_user@X"][1]
    seen = set()
    for layer_id in all_layers():
        status, body = _get(client, token, f"/api/v1/layers/{layer_id}?{PERIOD}")
        assert status == 200, (layer_id, body[:300])
        assert f"{lw.x.marker}I2" not in body and lw.y.marker not in body, layer_id
        if f"{lw.x.marker} " in body or f'"{lw.x.marker}"' in body:
            seen.add(layer_id)
    # its own records do show: cases (its disease code), its team, site, task, signal receipts, itself
    assert {"cases", "teams", "resources", "tasks", "signals", "institutions.fever_clinic"} <= seen, seen
    # district data without an institution is not theirs to browse
    for layer_id in ("coverage", "schools", "pharmacies", "opinion", "incidents"):
        status, body = _get(client, token, f"/api/v1/layers/{layer_id}?{PERIOD}")
        assert json.loads(body)["features"] == [], layer_id


def test_area_aliases_are_validated(client, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    token = lw.users["district_analyst@X"][1]
    for query, field in ((f"region={lw.x.code}&street={lw.x.street}", "street"), ("street=12", "street"),
                         ("institution=abc", "institution"), ("grid=h3:zz", "grid")):
        resp = client.get(f"/api/v1/layers/cases?{query}", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field, (query, resp.get_json())
    status, body = _get(client, token, f"/api/v1/layers/cases?{PERIOD}&street={lw.x.street}")
    assert status == 200 and lw.x.marker in body


# ---------------------------------------------------------------- Dash callbacks taking a region

REGION_STORE = "mon-state"


def _dependencies(client: Any) -> list[dict[str, Any]]:
    resp = client.get("/_dash-dependencies")
    assert resp.status_code == 200
    return resp.get_json()  # type: ignore[no-any-return]


def _outputs(spec: str) -> list[dict[str, str]]:
    parts = spec[2:-2].split("...") if spec.startswith("..") else [spec]
    return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]


def _value(dep: dict[str, Any], state: dict[str, Any], region: str) -> Any:
    if dep["id"] == REGION_STORE:
        return state
    if dep["id"].startswith("{"):  # pattern-matching (ALL): no components
        return []
    if dep["id"] == "mon-layers-control":
        return ["病例热力"]
    if dep["id"] == "mon-overlays":  # the monitor's layer-switcher store: heat map on
        return {"病例热力": True}
    if dep["id"] == "mon-choropleth" and dep["property"] == "clickData":
        return {"properties": {"code": region}}
    return None


def _region_callbacks(client: Any) -> list[dict[str, Any]]:
    deps = [d for d in _dependencies(client) if not d.get("clientside_function")]
    return [d for d in deps if any(i["id"] == REGION_STORE for i in d["inputs"] + d["state"])
            and not d["output"].startswith("..{") and "{" not in d["output"]]


def _call(client: Any, csrf: str, dep: dict[str, Any], state: dict[str, Any], region: str) -> tuple[int, str]:
    outs = _outputs(dep["output"])
    body = {"output": dep["output"], "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{**i, "value": _value(i, state, region)} for i in dep["inputs"]],
            "state": [{**s, "value": _value(s, state, region)} for s in dep["state"]],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in dep["inputs"]][:1]}
    resp = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})
    return resp.status_code, resp.get_data(as_text=True)


def test_dash_region_callbacks_leak_nothing(app, services, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    failures = []
    for user_key, victim, forbidden in out_of_scope(lw):
        client = app.test_client()
        csrf = login(client, lw.users[user_key][0])
        callbacks = _region_callbacks(client)
        assert len(callbacks) >= 4  # set_state, update_map, update_panels, update_heat
        for form, region in (("district", victim.code), ("street", victim.street), ("grid", victim.grid),
                             ("h3", victim.h3), ("institution", f"inst:{victim.inst[0]}"),
                             ("institution2", f"inst:{victim.inst[1]}")):
            state = {"region": region, "level": None, "disease": [], "since": "2026-01-01", "until": "2026-01-31",
                     "play_to": None}
            for dep in callbacks:
                status, body = _call(client, csrf, dep, state, region)
                checked += 1
                if status >= 500:
                    failures.append(f"{user_key} {dep['output']} ({form}) → {status}")
                for marker in forbidden:
                    if marker in body:
                        failures.append(f"{user_key} {dep['output']} ({form}) leaked {marker}")
        # the page itself, opened on the other district's region
        for region in (victim.code, victim.street, f"inst:{victim.inst[1]}"):
            payload = {"output": "page-content.children", "outputs": {"id": "page-content", "property": "children"},
                       "inputs": [{"id": "url", "property": "pathname", "value": "/monitor"},
                                  {"id": "url", "property": "search", "value": f"?region={region}"}],
                       "changedPropIds": ["url.pathname"], "state": []}
            resp = client.post("/_dash-update-component", json=payload, headers={"X-CSRFToken": csrf})
            checked += 1
            text = _without_disease_catalogue(resp.get_json(silent=True))
            if resp.status_code >= 500 or any(m in text for m in forbidden):
                failures.append(f"{user_key} /monitor?region={region} → {resp.status_code}")
    print(f"dash region matrix: {checked} callback calls")
    assert checked > 0 and not failures, "\n".join(failures[:40])


def _without_disease_catalogue(answer: Any) -> str:
    """The page as JSON text minus the disease picker's options: the catalogue is city-wide reference data
    (this world's disease codes carry the district markers so that case features can be told apart)."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("id") == "mon-disease":
                return {k: v for k, v in node.items() if k != "options"}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return json.dumps(walk(answer), ensure_ascii=False)


def test_dash_region_callbacks_answer_in_scope(app, services, lw: LayerWorld) -> None:  # type: ignore[no-untyped-def]
    """Positive control: the same calls for the user's own district do return its data."""
    client = app.test_client()
    csrf = login(client, lw.users["district_analyst@X"][0])
    state = {"region": lw.x.code, "level": None, "disease": [], "since": "2026-01-01", "until": "2026-01-31",
             "play_to": None}
    bodies = [_call(client, csrf, dep, state, lw.x.code) for dep in _region_callbacks(client)]
    assert any(lw.x.marker in body for status, body in bodies if status == 200)

