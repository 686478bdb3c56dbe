"""Web sessions kept in Redis: idle expiry by TTL, revocable at logout or on account changes."""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import redis

from accounts.principal import Principal
from accounts.token_cache import TokenCache


@dataclass
class WebSession:
    """What the browser's session id stands for."""

    sid: str
    principal: Principal
    csrf: str
    method: str  # "password+sm2" | "device"
    created: float


class SessionStore:
    """`<ns>:session:<sid>` → JSON with a TTL of the idle timeout, refreshed on use."""

    def __init__(self, client: redis.Redis, namespace: str, idle_minutes: int) -> None:
        self._r, self._ns, self._ttl = client, namespace, idle_minutes * 60

    def _key(self, sid: str) -> str:
        return f"{self._ns}:session:{sid}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._ns}:user-sessions:{user_id}"

    def create(self, principal: Principal, *, method: str) -> WebSession:
        """Start a session; returns it with a fresh id and CSRF token."""
        ws = WebSession(secrets.token_urlsafe(32), principal, secrets.token_urlsafe(32), method, time.time())
        body = {"principal": asdict(principal), "csrf": ws.csrf, "method": method, "created": ws.created}
        pipe = self._r.pipeline()
        pipe.set(self._key(ws.sid), json.dumps(body), ex=self._ttl)
        pipe.sadd(self._user_key(principal.user_id), ws.sid)
        pipe.expire(self._user_key(principal.user_id), 86400)
        pipe.execute()
        return ws

    def load(self, sid: str) -> WebSession | None:
        """The live session and a refreshed idle timer, or None when expired, revoked or unknown."""
        if not sid or len(sid) > 100:
            return None
        pipe = self._r.pipeline()
        pipe.get(self._key(sid))
        pipe.expire(self._key(sid), self._ttl)
        raw, _ = pipe.execute()
        if raw is None:
            return None
        body: dict[str, Any] = json.loads(raw)
        return WebSession(sid, Principal(**body["principal"]), body["csrf"], body["method"], body["created"])

    def destroy(self, sid: str) -> None:
        self._r.delete(self._key(sid))

    def destroy_user(self, user_id: int) -> int:
        """End every session of a user (password, role or status change) and forget their cached tokens."""
        TokenCache(self._r, self._ns).forget_user(user_id)
        sids = [s.decode() if isinstance(s, bytes) else s for s in self._r.smembers(self._user_key(user_id))]
        if sids:
            self._r.delete(*[self._key(s) for s in sids])
        self._r.delete(self._user_key(user_id))
        return len(sids)
