"""The city platform's 协查 relay, in miniature (tests and the demo mount it on the city stand-in).

`handle_message` takes one message signed by a district: it verifies the signature (replays refused),
checks that the signer is the message's origin district and that the destination district is known,
and forwards the message, signed by the city, to the destination's inbound endpoint; the destination's
answer is the answer. `handle_directory` gives a district's SM2 public key (what requests are sealed
for). The city never opens sealed personal data: it has no district's private key.
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from accounts.request_signing import MemoryNonces, SignatureError, sign_request, verify_request
from assist.districts import CITY
from assist.models import AssistMessage
from assist.sender import DIRECTORY_PATH, MESSAGES_PATH
from dispatch.outbox import Poster, district_key_id, http_post

INBOUND_PATH = "/api/v1/assist/inbound"


@dataclass(frozen=True)
class DistrictEndpoint:
    """A district the city knows: where its API is and the SM2 key it signs with (and is sealed for)."""

    base_url: str
    public_key_hex: str


@dataclass
class AssistRelay:
    city_private_key_hex: str
    city_key_id: str
    districts: dict[str, DistrictEndpoint] = field(default_factory=dict)
    post: Poster = http_post
    relayed: list[dict[str, Any]] = field(default_factory=list)  # the forwarded bodies, as the city saw them
    # Requests addressed to the city itself (市疾控): held here, sealed for `city_public_key_hex`, answered by `reply`.
    city_public_key_hex: str = ""
    city_inbox: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # request no → its messages
    _nonces: MemoryNonces = field(default_factory=MemoryNonces)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, key_id: str) -> str | None:
        for code, endpoint in self.districts.items():
            if district_key_id(code) == key_id:
                return endpoint.public_key_hex
        return None

    def _verify(self, headers: dict[str, str], path: str, body: bytes) -> str:
        return verify_request(headers=headers, method="POST", path=path, body=body, lookup_public_key=self._key,
                              nonce_store=self._nonces)

    def handle_message(self, headers: dict[str, str], path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for one message from a district."""
        try:
            key_id = self._verify(headers, path, body)
            msg = AssistMessage.model_validate_json(body)
        except SignatureError as exc:
            return 401, _error(exc.code, str(exc))
        except ValidationError as exc:
            return 422, _error("relay.invalid_message", str(exc)[:300])
        if key_id != district_key_id(msg.origin):
            return 403, _error("relay.sender_mismatch", "the message is not signed by its origin district")
        if msg.destination == CITY and self.city_public_key_hex:
            return self._hold_for_city(msg, body)
        endpoint = self.districts.get(msg.destination)
        if endpoint is None:
            return 404, _error("relay.unknown_district", f"district {msg.destination} is not connected")
        with self._lock:
            self.relayed.append(json.loads(body))
        return self._forward(endpoint, body)

    def _forward(self, endpoint: DistrictEndpoint, body: bytes) -> tuple[int, dict[str, Any]]:
        headers = sign_request(private_key_hex=self.city_private_key_hex, key_id=self.city_key_id, method="POST",
                               path=INBOUND_PATH, body=body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            status, answer = self.post(endpoint.base_url.rstrip("/") + INBOUND_PATH, body, headers, 30.0)
        except OSError as exc:
            return 503, _error("relay.unreachable", f"{type(exc).__name__}: {exc}")
        try:
            return status, json.loads(answer or "{}")
        except ValueError:
            return 502, _error("relay.bad_answer", answer[:200])

    def handle_directory(self, headers: dict[str, str], path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """The SM2 public key of the district asked for (signed request of a known district)."""
        try:
            self._verify(headers, path, body)
            code = str(json.loads(body).get("district_code", ""))
        except SignatureError as exc:
            return 401, _error(exc.code, str(exc))
        except (ValueError, AttributeError):
            return 400, _error("relay.invalid_message", "body must be {\"district_code\": ...}")
        if code == CITY and self.city_public_key_hex:
            return 200, {"district_code": code, "key_id": self.city_key_id, "public_key": self.city_public_key_hex}
        endpoint = self.districts.get(code)
        if endpoint is None:
            return 404, _error("relay.unknown_district", f"district {code[:10]} is not connected")
        return 200, {"district_code": code, "key_id": district_key_id(code), "public_key": endpoint.public_key_hex}

    def _hold_for_city(self, msg: AssistMessage, body: bytes) -> tuple[int, dict[str, Any]]:
        """A message to the city itself: kept in its inbox once (a resent message is a duplicate)."""
        with self._lock:
            held = self.city_inbox.setdefault(msg.request_no, [])
            duplicate = any(m["message_id"] == msg.message_id for m in held)
            if not duplicate:
                held.append(json.loads(body))
        return 200, {"message_id": msg.message_id, "received_at": datetime.now(UTC).isoformat(),
                     "duplicate": duplicate}

    def reply(self, request_no: str, *, kind: str, state: str | None = None, note: str | None = None,
              assignee: str | None = None, answer: dict[str, Any] | None = None,
              actor: str = "市疾控 协查专员") -> tuple[int, dict[str, Any]]:
        """The city acts on a request addressed to it (accept, return, answer…): signed to the sending district."""
        first = self.city_inbox[request_no][0]
        message = {"message_id": uuid.uuid4().hex, "kind": kind, "request_no": request_no,
                   "from_district": first["from_district"], "to_district": CITY, "origin": CITY,
                   "at": datetime.now(UTC).isoformat(), "actor": actor, "state": state, "note": note, "assignee": assignee,
                   "answer": answer}
        body = AssistMessage.model_validate(message).model_dump_json(exclude_none=True).encode()
        return self._forward(self.districts[first["from_district"]], body)

    def routes(self) -> dict[str, Any]:
        """The paths to mount on the city stand-in (`CityStandin.routes`)."""
        return {MESSAGES_PATH: self.handle_message, DIRECTORY_PATH: self.handle_directory}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
