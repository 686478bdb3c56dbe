"""The OpenAPI document is served, rendered locally at /api/docs, and the API honours it:
schemathesis finds no 5xx and no response that breaks the documented schema."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.models import SubtaskSpec, TaskCreate
from dispatch.service import accept_task, create_task, split_task
from tests.factories.dispatch import DISTRICT, World


@pytest.fixture(scope="module")
def world(dispatch_world: Any) -> Any:
    """This module's `world`: `dispatch_world` (tests/factories/dispatch.py)."""
    return dispatch_world


def test_document_lists_dispatch_operations_with_models(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/v1/dispatch/tasks/{task_id}/split"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SplitRequest"}
    assert "TaskTree" in doc["components"]["schemas"] and "ErrorBody" in doc["components"]["schemas"]
    params = {p["name"]: p for p in doc["paths"]["/api/v1/dispatch/tasks"]["get"]["parameters"]}
    assert params["state"]["schema"]["enum"][0] == "issued" and params["limit"]["schema"]["maximum"] == 500


def test_docs_page_uses_local_assets_only(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs/apidocs.js" in page.data
    assert b"http://" not in page.data and b"https://" not in page.data
    js = client.get("/api/docs/apidocs.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript" and b"openapi.json" in js.data
    assert client.get("/api/docs/apidocs.css").mimetype == "text/css"
    assert client.get("/api/docs/other.js").status_code == 404


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _task_pool(services: Any, world: World) -> list[int]:
    """Existing tasks in several states, so generated calls reach the flows and not only 404."""
    cmd, deadline = world.principals["commander"], datetime.now(UTC) + timedelta(days=2)
    ids = []
    with services.session_factory() as s, s.begin():
        for i in range(6):
            task, _ = create_task(s, actor=cmd, default_district=DISTRICT,
                                  data=TaskCreate(title=f"模糊测试{i}", type="other", deadline=deadline))
            ids.append(task.id)
            if i >= 2:
                accept_task(s, actor=cmd, task_id=task.id)
            if i >= 4:
                subs = split_task(s, actor=cmd, task_id=task.id, specs=[SubtaskSpec(
                    title="子任务", deadline=deadline, assignee_institution_id=world.institutions[0])])
                ids.append(subs[0].id)
    return ids


def test_dispatch_api_conforms(app, services, world: World) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex="^/api/v1/dispatch")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    pool = st.sampled_from(_task_pool(services, world))
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode)
            if "{task_id}" in operation.path:
                strategy = st.one_of(strategy, pool.flatmap(
                    lambda tid, op=operation, m=mode: op.as_strategy(m, path_parameters={"task_id": tid})))

            @given(case=strategy)
            @hsettings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: Any) -> None:
                case.call_and_validate(headers=world.auth("commander"), checks=CHECKS)

            check()
