"""since/until (and the other filters) refused on the layer and tile endpoints name their parameter and
answer in Chinese: never field "query", never pydantic's English inside message_zh."""
from __future__ import annotations

import re
from typing import Any

import pytest

ENGLISH = re.compile(r"[A-Za-z]{3,}")  # a word of English (parameter names are short or translated)
PATHS = ("/api/v1/layers/cases?{q}", "/api/v1/layers/incidence?{q}", "/api/v1/tiles/cases/12/3430/1673.mvt?{q}")


def _error(client: Any, token: str, url: str) -> dict[str, Any]:
    resp = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422, (url, resp.status_code, resp.data[:300])
    return dict(resp.get_json()["error"])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("query, field, code", [
    ("since=2025-02-01&until=2025-01-01", "until", "filter.period_order"),
    ("since=2020-01-01&until=2025-01-01", "until", "filter.period_too_long"),
    ("since=2026-02-30", "since", "filter.date_from_datetime_parsing"),
    ("until=yesterday", "until", None),
    ("until=9999-12-31", "until", "invalid.date_range"),
    ("bbox=10,5,9,6", "bbox", "filter.value_error"),
    ("limit=0", "limit", "filter.greater_than_equal"),
])
def test_filter_errors_name_the_field_in_chinese(client, world, path: str, query: str, field: str,
                                                 code: str | None) -> None:
    err = _error(client, world.tokens["d1"], path.format(q=query))
    assert err["field"] == field, err
    assert code is None or err["code"] == code, err
    assert err["message_zh"] and not ENGLISH.search(err["message_zh"]), err
    assert field in err["message"], err
