"""A stand-in for the city platform (市级平台): a real HTTP server plus a signing client.

It receives the district's callbacks at `POST /callbacks`, verifies each with the district's SM2
public key, and records them (duplicates by idempotency key are counted, not recorded twice). It
issues tasks to the district's API signed with the city's private key. Used by the tests and the demo.
"""
from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from accounts.request_signing import MemoryNonces, SignatureError, sign_request, verify_request
from dispatch.models import CallbackPayload

log = logging.getLogger(__name__)
CALLBACK_PATH = "/callbacks"
TASKS_PATH = "/api/v1/dispatch/tasks"
Route = Callable[[dict[str, str], str, bytes], tuple[int, dict[str, Any]]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("city stand-in: " + format, *args)


@dataclass
class Received:
    """One verified callback as the city saw it."""

    idempotency_key: str
    key_id: str
    payload: dict[str, Any]
    times_received: int = 1


@dataclass
class CityStandin:
    """The city platform in miniature: call `start()`, then read `callbacks`; `stop()` when done."""

    city_private_key_hex: str
    district_public_key_hex: str
    district_key_id: str
    district_base_url: str = ""
    city_key_id: str = "city"
    host: str = "127.0.0.1"
    port: int = 0
    # While True the callback endpoint answers 503 (the city platform is "down" but reachable).
    failing: bool = False
    # More signed POST endpoints: path → handler(headers, path with query, body) → (status, JSON answer),
    # e.g. the exchange receiver (exchange.standin) at /exchange/v1/batches.
    routes: dict[str, Route] = field(default_factory=dict)
    callbacks: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    _by_key: dict[str, Received] = field(default_factory=dict)
    _nonces: MemoryNonces = field(default_factory=MemoryNonces)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    _thread: threading.Thread | None = None

    # ---------------------------------------------------------------- server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def callback_url(self) -> str:
        return self.url + CALLBACK_PATH

    def start(self) -> CityStandin:
        """Listen on host:port (port 0 picks a free one) in a background thread."""
        self._server = make_server(self.host, self.port, self._app, server_class=_ThreadingServer,
                                   handler_class=_QuietHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="city-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; connections are refused until `start()` is called again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        """Run in the foreground (the `onemap city-standin` command)."""
        if self._server is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(1)
        except KeyboardInterrupt:
            self.stop()

    def _lookup(self, key_id: str) -> str | None:
        return self.district_public_key_hex if key_id == self.district_key_id else None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if path == CALLBACK_PATH and method == "GET":
            with self._lock:
                received = [{"idempotency_key": r.idempotency_key, "times_received": r.times_received,
                             "payload": r.payload} for r in self.callbacks]
            return _answer(start_response, 200, {"callbacks": received, "rejected": list(self.rejected)})
        if method != "POST" or (path != CALLBACK_PATH and path not in self.routes):
            return _answer(start_response, 404, {"error": "not found"})
        if self.failing:
            return _answer(start_response, 503, {"error": "city platform unavailable"})
        headers, query, body = _read(environ)
        if path in self.routes:
            return _answer(start_response, *self.routes[path](headers, path + (f"?{query}" if query else ""), body))
        try:
            key_id = verify_request(headers=headers, method=method, path=path + (f"?{query}" if query else ""),
                                    body=body, lookup_public_key=self._lookup, nonce_store=self._nonces)
            payload = CallbackPayload.model_validate_json(body).model_dump(mode="json")
            key = payload["idempotency_key"]
            if headers.get("Idempotency-Key") != key:
                raise ValueError("Idempotency-Key header does not match the body")
        except SignatureError as exc:
            with self._lock:
                self.rejected.append(exc.code)
            return _answer(start_response, 401, {"error": exc.code})
        except ValueError as exc:  # includes pydantic's ValidationError
            with self._lock:
                self.rejected.append(f"bad_body: {exc}")
            return _answer(start_response, 400, {"error": "bad body"})
        with self._lock:
            seen = self._by_key.get(key)
            if seen is not None:
                seen.times_received += 1
            else:
                seen = self._by_key[key] = Received(key, key_id, payload)
                self.callbacks.append(seen)
        return _answer(start_response, 200, {"ok": True, "duplicate": seen.times_received > 1})

    # ---------------------------------------------------------------- client

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Send one SM2-signed request to the district API; returns (status, JSON body)."""
        raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        headers = sign_request(private_key_hex=self.city_private_key_hex, key_id=self.city_key_id,
                               method=method, path=path, body=raw)
        if body is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.district_base_url.rstrip("/") + path, data=raw if body is not None else None,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (configured URL)
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def issue_task(self, task: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """派单: POST a task (must carry city_task_id) to the district."""
        return self.call("POST", TASKS_PATH, task)

    def cancel_task(self, city_task_id: str, reason: str = "") -> tuple[int, dict[str, Any]]:
        return self.call("POST", f"/api/v1/dispatch/city-tasks/{city_task_id}/cancel", {"reason": reason or None})

    def received_for(self, city_task_id: str) -> list[dict[str, Any]]:
        """Payloads received for one city task, in arrival order."""
        with self._lock:
            return [r.payload for r in self.callbacks if r.payload.get("city_task_id") == city_task_id]


def _read(environ: dict[str, Any]) -> tuple[dict[str, str], str, bytes]:
    """The request's headers (as signed: X-OneMap-…), query string and body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
    return {k.replace("X-Onemap-", "X-OneMap-"): v for k, v in headers.items()}, environ.get("QUERY_STRING", ""), body


def _answer(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable"}
    start_response(f"{status} {reason.get(status, 'Error')}",
                   [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]
