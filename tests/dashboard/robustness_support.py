"""Shared by the robustness and schemathesis tests: write routes, credentials, and a database fingerprint."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from accounts.request_signing import sign_request
from security.sm2 import generate_keypair
from store.accounts import ApiClient
from tests.factories.users import make_user

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Append-only records that a refused request may legitimately add (failed logins are audited; limiter keys).
APPEND_ONLY = frozenset({"audit_log", "audit_checkpoint", "alembic_version"})
# Bookkeeping a bearer call updates by design (when a token was last used).
VOLATILE_COLUMNS = ("last_used_at",)
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class Caller:
    bearer: str
    key_id: str
    private_key: str
    csrf: str


def make_city_client(services: Any) -> tuple[str, str]:
    """A registered city platform client (city_api user + SM2 key); returns (key_id, private key hex)."""
    priv, pub = generate_keypair()
    user, _ = make_user(services, "city_api", "310000")
    key_id = f"city-{uuid.uuid4().hex[:8]}"
    with services.session_factory() as db:
        db.add(ApiClient(key_id=key_id, name="市级平台", user_id=user.id, sm2_public_key=pub))
        db.commit()
    return key_id, priv


def fill_rule(rule: str, ids: dict[str, int]) -> str:
    """A concrete path for a Flask rule: ints from `ids` by parameter name, strings made up."""
    def value(m: re.Match[str]) -> str:
        conv, name = m.group(1), m.group(2)
        if conv == "int":
            return str(ids.get(name, 1))
        return {"kind": "case_report", "city_task_id": "CITY-T-1"}.get(name, "x")
    return _PARAM.sub(value, rule)


def write_routes(app: Any, ids: dict[str, int]) -> list[tuple[str, str]]:
    """(method, path) of every POST/PUT/PATCH route the app registers."""
    return sorted({(method, fill_rule(rule.rule, ids)) for rule in app.url_map.iter_rules()
                   for method in rule.methods & WRITE_METHODS})


def headers_for(caller: Caller, method: str, path: str, body: bytes, signed: bool) -> dict[str, str]:
    if signed:
        return sign_request(private_key_hex=caller.private_key, key_id=caller.key_id, method=method, path=path,
                            body=body)
    if path.startswith("/api/"):
        return {"Authorization": f"Bearer {caller.bearer}"}
    return {"X-CSRFToken": caller.csrf}


def fingerprint(services: Any) -> dict[str, tuple[int, str]]:
    """Row count and an md5 of every row of every table (append-only audit tables, VOLATILE_COLUMNS excluded)."""
    out: dict[str, tuple[int, str]] = {}
    with services.engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        for table in sorted(set(tables) - APPEND_ONLY):
            count, digest = conn.execute(text(
                f"SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) "
                f'FROM (SELECT (to_jsonb(t) - CAST(:skip AS text[]))::text AS r FROM "{table}" t) rows'
            ), {"skip": list(VOLATILE_COLUMNS)}).one()
            out[table] = (count, digest)
    return out


def signed_routes(app: Any, caller: Caller, routes: list[tuple[str, str]],
                  post: Callable[..., Any]) -> set[str]:
    """Paths that want an SM2-signed request: an anonymous call (which writes nothing) gets sig.missing."""
    found = set()
    for method, path in routes:
        if path.startswith("/api/"):
            resp = post(method, path, b"{}", {})
            if resp.status_code == 401 and (resp.get_json() or {}).get("error", {}).get("code") == "sig.missing":
                found.add(path)
    return found
