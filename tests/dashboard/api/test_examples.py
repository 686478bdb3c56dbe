"""Every documented request body carries an example that its own model accepts (issue 17: OpenAPI with examples)."""
from __future__ import annotations

from typing import Any

import pytest

from dashboard.api.examples import request_example
from dashboard.openapi import operations


def _bodies() -> list[tuple[str, Any]]:
    return [(f"{op.method.upper()} {op.path}", op.request_model) for op in operations() if op.request_model]


def test_every_request_body_in_the_document_has_an_example(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    missing = [f"{method.upper()} {path}" for path, item in doc["paths"].items() for method, op in item.items()
               if "requestBody" in op and "example" not in op["requestBody"]["content"]["application/json"]]
    assert len(_bodies()) >= 17
    assert not missing, missing


@pytest.mark.parametrize("label, model", _bodies(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_example_is_valid_for_its_model(app, label: str, model: Any) -> None:  # type: ignore[no-untyped-def]
    example = request_example(model)
    assert example is not None, label
    model.model_validate(example)


def test_the_intake_example_is_a_valid_case_report(app) -> None:  # type: ignore[no-untyped-def]
    from dashboard.api.shapes import IngestBatchIn
    from ingest.schemas import SCHEMAS

    example = request_example(IngestBatchIn)
    assert example is not None
    for record in example["records"]:
        SCHEMAS["case_report"].model_validate(record)
