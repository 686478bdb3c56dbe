"""SQL expressions that write JSON values as text exactly as the answers' encoder does (geo.geojson.COMPACT).

PostgreSQL's json_build_object spaces its output (`{"a" : 1, "b" : 2}`) and prints numerics with their
scale (121.400000), so its JSON had to be parsed and written again in Python before it could be an
answer. These write each value the way `json.dumps(…, ensure_ascii=False, separators=(",", ":"))`
writes the value Python would have read back, so a large answer (case points) is assembled as text:

- strings: to_json(text) escapes `"`, `\\`, \\b \\f \\n \\r \\t and other control characters as \\u00xx,
  leaving other characters as UTF-8, as the encoder does; dates are ISO 8601 strings;
- numbers rounded to n decimals: the shortest text that reads back as the same double (PostgreSQL's
  float8 output, like Python's repr), an integral value with ".0";
- NULL as null.
"""
from __future__ import annotations

import re

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # keys go into SQL string literals as they are


def value_sql(expr: str) -> str:
    """SQL text: the JSON of a string, date, integer or boolean expression (null when NULL)."""
    return f"coalesce(to_json({expr})::text, 'null')"


def number_sql(numeric: str) -> str:
    """SQL text: the JSON of Python's float() of a numeric expression (e.g. round(x::numeric, 6); null when NULL).

    Exact for |x| < 1e16 (coordinates, counts, rates); above it Python writes an exponent (1e+16) and this does not.
    """
    n = numeric
    return f"coalesce(CASE WHEN {n} = trunc({n}) THEN trunc({n})::text || '.0' ELSE {n}::float8::text END, 'null')"


def object_sql(*members: tuple[str, str]) -> str:
    """SQL text: a JSON object of (key, SQL text of its JSON value) members, in order (keys: ASCII identifiers)."""
    if bad := [key for key, _ in members if not _KEY.fullmatch(key)]:
        raise ValueError(f"JSON keys must be ASCII identifiers: {bad}")
    parts = [f"'{'{' if i == 0 else ','}\"{key}\":' || {value}" for i, (key, value) in enumerate(members)]
    return "(" + " || ".join(parts) + " || '}')" if parts else "'{}'"
