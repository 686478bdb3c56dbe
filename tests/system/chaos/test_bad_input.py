"""Bad input from hypothesis and schemathesis: never a 5xx, valid records of a mixed batch are stored, refused ones never."""
from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ingest.schemas import KINDS
from layers.registry import all_layers
from tests.factories.intake import World, build_world, case
from tests.system.chaos.conftest import rollup_differences, scale, stored_source_ids
from tests.system.chaos.support import Ledger

EXAMPLES = scale(25, 150)
SETTINGS = hsettings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=4), max_leaves=12)
FIELDS = ("institution_code", "record_id", "disease_code", "onset_date", "diagnosis_time", "report_time", "lon",
          "lat", "age", "sex", "patient", "crs", "outcome", "version", "case_type", "unexpected")
_serial = itertools.count()


@pytest.fixture(scope="module")
def chaos_world(services: Any) -> World:
    return build_world(services)


def test_mixed_batches_store_exactly_the_accepted_records(client, services, chaos_world: World,
                                                          ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    """Each batch mixes valid records with records having one field replaced by arbitrary JSON."""
    tag = uuid.uuid4().hex[:6]
    prefix = f"{chaos_world.inst_a}:b{tag}-"
    seen = {"accepted": [], "refused": [], "5xx": 0}

    @given(st.lists(st.tuples(st.booleans(), st.sampled_from(FIELDS), JSON), min_size=1, max_size=8))
    @SETTINGS
    def post(batch: list[tuple[bool, str, Any]]) -> None:
        records = []
        for mutate, name, value in batch:
            rec = case(chaos_world, f"b{tag}-{next(_serial)}")
            if mutate and name != "record_id":
                rec[name] = value
            records.append(rec)
        r = client.post("/api/v1/ingest/case_report", json={"records": records}, headers=chaos_world.auth("city"))
        if r.status_code >= 500:
            seen["5xx"] += 1
            return
        assert r.status_code in (200, 207, 422, 403), r.get_data(as_text=True)
        if r.status_code == 403:
            return
        for outcome in r.get_json()["results"]:
            sid = f"{chaos_world.inst_a}:{records[outcome['index']]['record_id']}"
            (seen["refused"] if outcome["status"] == "rejected" else seen["accepted"]).append(sid)
            if outcome["status"] == "rejected":
                assert outcome["errors"] and all(e["code"] for e in outcome["errors"])

    post()
    stored = stored_source_ids(services.session_factory, prefix)
    ledger.server_errors_on_bad_input = seen["5xx"]
    ledger.settle(seen["accepted"], stored)
    ledger.notes.update(refused=len(seen["refused"]), refused_but_stored=len(set(seen["refused"]) & set(stored)))
    rollups = rollup_differences(services.session_factory, ledger)
    assert seen["accepted"] and seen["refused"]
    assert (ledger.lost, ledger.duplicated, ledger.server_errors_on_bad_input, rollups) == (0, 0, 0, 0)
    assert ledger.notes["refused_but_stored"] == 0


def test_arbitrary_bodies_and_query_strings(client, chaos_world: World, ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    """Any JSON to every intake kind and any query string to every layer and the KPIs: 4xx with a code, never 5xx."""
    paths = [f"/api/v1/layers/{layer}" for layer in all_layers()] + ["/api/v1/monitor/summary", "/api/v1/signals",
                                                                     "/api/v1/dispatch/tasks"]
    counts = {"requests": 0, "5xx": 0}

    @given(st.sampled_from(KINDS), JSON, st.sampled_from(paths),
           st.dictionaries(st.sampled_from(["bbox", "since", "until", "disease", "region", "level", "limit", "x",
                                            "state", "page"]), st.text(max_size=25), max_size=4))
    @SETTINGS
    def call(kind: str, body: Any, path: str, query: dict[str, str]) -> None:
        for r in (client.post(f"/api/v1/ingest/{kind}", json=body, headers=chaos_world.auth("city")),
                  client.get(path, query_string=query, headers=chaos_world.auth("district_a"))):
            counts["requests"] += 1
            if r.status_code >= 500:
                counts["5xx"] += 1
            elif r.status_code >= 400:  # an error with a code, or a batch whose every record names its errors
                answer = r.get_json()
                assert (answer.get("error") or {}).get("code") or all(
                    e["code"] for res in answer["results"] for e in res["errors"]), r.get_data(as_text=True)

    call()
    ledger.server_errors_on_bad_input = counts["5xx"]
    ledger.notes["requests"] = counts["requests"]
    assert counts["5xx"] == 0


def test_schemathesis_negative_cases_on_the_documented_api(app, chaos_world: World,
                                                           ledger: Ledger) -> None:  # type: ignore[no-untyped-def]
    """Every documented operation (but the endless SSE stream) fed schema-violating input by schemathesis."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).exclude(path_regex="/live$")
    operations = [result.ok() for result in schema.get_all_operations()]
    counts = {"requests": 0, "5xx": 0, "nothing_to_violate": 0}
    for operation in operations:
        @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
        @hsettings(max_examples=scale(5, 30), deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            r = case.call(headers=chaos_world.auth("city"))
            counts["requests"] += 1
            counts["5xx"] += r.status_code >= 500

        try:
            check()
        except Unsatisfiable:  # an operation without parameters or body has no schema-violating input
            counts["nothing_to_violate"] += 1
    ledger.server_errors_on_bad_input = counts["5xx"]
    ledger.notes.update(operations=len(operations), requests=counts["requests"],
                        without_negative_cases=counts["nothing_to_violate"])
    assert operations and counts["5xx"] == 0
