"""Resolved bearer tokens kept in Redis for a minute, so an API call costs no database round trip.

`<ns>:token:<SM3 of the token>` → the principal JSON; `<ns>:user-tokens:<user id>` lists a user's
cached tokens so that revoking a token or changing the account forgets them at once. Nothing here
ever holds the clear token.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import redis

from accounts.principal import Principal
from security.sm3 import sm3_digest

CACHE_SECONDS = 60


class TokenCache:
    """Principals of recently used bearer tokens; forget_user() on revocation or account changes."""

    def __init__(self, client: redis.Redis, namespace: str, seconds: int = CACHE_SECONDS) -> None:
        self._r, self._ns, self._seconds = client, namespace, seconds

    def _key(self, clear: str) -> str:
        return f"{self._ns}:token:{sm3_digest(clear.encode()).hex()}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._ns}:user-tokens:{user_id}"

    def get(self, clear: str) -> tuple[Principal, str] | None:
        """(principal, token kind) if this token was resolved within the last minute and not forgotten."""
        raw = self._r.get(self._key(clear))
        if raw is None:
            return None
        body = json.loads(raw)
        return Principal(**body["principal"]), body["kind"]

    def put(self, clear: str, principal: Principal, kind: str, expires_at: datetime | None) -> None:
        """Remember a resolved token, never beyond its own expiry."""
        ttl = self._seconds
        if expires_at is not None:
            ttl = min(ttl, int((expires_at - datetime.now(UTC)).total_seconds()))
        if ttl <= 0:
            return
        key = self._key(clear)
        pipe = self._r.pipeline()
        pipe.set(key, json.dumps({"principal": asdict(principal), "kind": kind}), ex=ttl)
        pipe.sadd(self._user_key(principal.user_id), key)
        pipe.expire(self._user_key(principal.user_id), self._seconds * 2)
        pipe.execute()

    def forget_user(self, user_id: int) -> None:
        """Drop every cached token of a user (a token revoked, the account disabled or changed)."""
        keys = [k.decode() if isinstance(k, bytes) else k for k in self._r.smembers(self._user_key(user_id))]
        self._r.delete(self._user_key(user_id), *keys)
