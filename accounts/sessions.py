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
    method: str  # "password+sm2" | "device" | "embed"
    created: float
    token_id: int | None = None  # the device token this session was born from; revoking it ends the session
    binding: dict[str, str] | None = None  # an embed session's page and region

    @property
    def view_only(self) -> bool:
        """Sessions from a kiosk device token or an embed ticket only read: no profile, tokens or writes."""
        return self.method in VIEW_ONLY_METHODS


VIEW_ONLY_METHODS = frozenset({"device", "embed"})


class SessionStore:
    """`<ns>:session:<sid>` → JSON with a TTL of the idle timeout, refreshed on use.

    `<ns>:user-sessions:<user id>` and `<ns>:token-sessions:<token id>` list the sessions of a user and
    of a device token, so that account changes and token revocation end them at once.
    """

    def __init__(self, client: redis.Redis, namespace: str, idle_minutes: int) -> None:
        self._r, self._ns, self._ttl = client, namespace, idle_minutes * 60

    def _key(self, sid: str) -> str:
        return f"{self._ns}:session:{sid}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._ns}:user-sessions:{user_id}"

    def _token_key(self, token_id: int) -> str:
        return f"{self._ns}:token-sessions:{token_id}"

    def create(self, principal: Principal, *, method: str, token_id: int | None = None,
               binding: dict[str, str] | None = None) -> WebSession:
        """Start a session; returns it with a fresh id and CSRF token."""
        ws = WebSession(secrets.token_urlsafe(32), principal, secrets.token_urlsafe(32), method, time.time(),
                        token_id, binding)
        body = {"principal": asdict(principal), "csrf": ws.csrf, "method": method, "created": ws.created,
                "token_id": token_id, "binding": binding}
        keep = max(86400, self._ttl * 2)
        pipe = self._r.pipeline()
        pipe.set(self._key(ws.sid), json.dumps(body), ex=self._ttl)
        pipe.sadd(self._user_key(principal.user_id), ws.sid)
        pipe.expire(self._user_key(principal.user_id), keep)
        if token_id is not None:
            pipe.sadd(self._token_key(token_id), ws.sid)
            pipe.expire(self._token_key(token_id), keep)
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
        if body.get("token_id") is not None:  # a kiosk may run for days: keep it findable by revocation
            keep = max(86400, self._ttl * 2)
            pipe = self._r.pipeline()
            pipe.expire(self._token_key(body["token_id"]), keep)
            pipe.expire(self._user_key(body["principal"]["user_id"]), keep)
            pipe.execute()
        return WebSession(sid, Principal(**body["principal"]), body["csrf"], body["method"], body["created"],
                          body.get("token_id"), body.get("binding"))

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

    def destroy_token(self, token_id: int, user_id: int | None) -> int:
        """End every session born from token `token_id` and forget the cached tokens of its user (revocation)."""
        if user_id is not None:
            TokenCache(self._r, self._ns).forget_user(user_id)
        sids = [s.decode() if isinstance(s, bytes) else s for s in self._r.smembers(self._token_key(token_id))]
        if sids:
            self._r.delete(*[self._key(s) for s in sids])
        self._r.delete(self._token_key(token_id))
        return len(sids)
