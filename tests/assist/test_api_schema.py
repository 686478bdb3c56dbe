"""schemathesis over the documented /api/v1/assist operations (as tests/dashboard/api/test_schemathesis.py
does for the whole API): no server error and answers that match their schema, for staff of the district."""
from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation.modes import GenerationMode

from tests.assist.conftest import District
from tests.dashboard.api.test_schemathesis import _run


def test_assist_operations_have_no_5xx_and_match_their_schema(app: Any, changning: District) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=8)
    schema = schema.include(func=lambda ctx: ctx.operation.path.startswith("/api/v1/assist"))
    failures: list[str] = []
    calls: list[str] = []
    ran = 0
    for who in ("commander", "analyst"):
        for result in schema.get_all_operations():
            ran += 1
            _run(result.ok(), changning.tokens[who], failures, calls)
    assert ran == 2 * 9 and len(calls) >= 3 * ran
    assert not failures, "\n\n".join(dict.fromkeys(failures))
