"""docs/exchange/*.schema.json are the exchange models' own JSON Schemas (regenerate: `onemap exchange schema`)."""
from __future__ import annotations

import json

from exchange.schema import json_schemas
from tests.paths import REPO_ROOT


def test_the_published_schema_files_match_the_models() -> None:
    folder = REPO_ROOT / "docs" / "exchange"
    published = {p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
                 for p in folder.glob("*.schema.json")}
    assert published == json_schemas()
