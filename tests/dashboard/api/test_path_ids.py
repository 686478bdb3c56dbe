"""An id in a path beyond what any id column holds answers 404 (a POST may first be refused for its body or the
caller's role), never 5xx (found by schemathesis: a case id of
30 digits reached PostgreSQL as `bigint out of range`)."""
from __future__ import annotations

import re

import pytest

HUGE = 2**64 + 1  # beyond bigint, the widest id column
INT_ARG = re.compile(r"<int:[a-z_]+>")


def _int_rules(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return sorted({(method, INT_ARG.sub(str(HUGE), rule.rule)) for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/api") and INT_ARG.search(rule.rule)
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def test_there_are_id_paths_to_check(app) -> None:  # type: ignore[no-untyped-def]
    assert len(_int_rules(app)) >= 12


@pytest.mark.parametrize("role", ["city_admin", "district_analyst"])
def test_huge_ids_are_not_found(app, client, principal_token, role: str) -> None:  # type: ignore[no-untyped-def]
    _, token = principal_token(role)
    answers = {}
    for method, path in _int_rules(app):
        body = None if method != "POST" else (
            {"purpose": "流行病学调查核实"} if path.endswith("/identity") else {"reason": "核查线索", "to_state": "verifying"})
        resp = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        answers[f"{method} {path}"] = resp.status_code
    wrong = {call: status for call, status in answers.items()
             if status >= 500 or (call.startswith("GET") and status not in (403, 404))}
    assert not wrong, wrong
