"""The city platform's side of the exchange, in miniature (tests and the demo mount it on the city stand-in).

`ExchangeReceiver.handle` takes one signed batch: it verifies the district's SM2 signature (replays
refused), validates the batch and each record against the exchange schema, opens the envelope with
the city's private key and each sealed identity with it, and keeps the highest version of each
record. Its answer gives every record's outcome: accepted, duplicate (that version or a newer one is
already held) or refused with a code. `refuse` lets a test make the city reject chosen records.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from accounts.request_signing import MemoryNonces, SignatureError, verify_request
from exchange.schema import RECORD_MODELS, Batch, Outcome, Record, RecordResult, context
from security.envelope import EnvelopeError, EnvelopeHeader, open_data_key, open_item

EXCHANGE_PATH = "/exchange/v1/batches"


@dataclass
class Held:
    """The newest version of one record the city holds, with its opened identity."""

    record: dict[str, Any]
    identity: dict[str, Any] | None
    times_received: int = 1


@dataclass
class ExchangeReceiver:
    city_private_key_hex: str
    district_keys: dict[str, str]  # key id → the district's SM2 public key
    refuse: set[str] = field(default_factory=set)  # record ids the city rejects ("business.rejected")
    held: dict[tuple[str, str], Held] = field(default_factory=dict)
    arrivals: list[tuple[str, int]] = field(default_factory=list)  # (record id, version) accepted, in order
    batches: int = 0
    _nonces: MemoryNonces = field(default_factory=MemoryNonces)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) for one POSTed batch."""
        try:
            verify_request(headers=headers, method="POST", path=path, body=body,
                           lookup_public_key=self.district_keys.get, nonce_store=self._nonces)
        except SignatureError as exc:
            return 401, {"error": exc.code}
        try:
            batch = Batch.model_validate_json(body)
            key = open_data_key(self.city_private_key_hex, EnvelopeHeader(**batch.envelope.model_dump()))
        except (ValidationError, EnvelopeError, ValueError) as exc:
            return 400, {"error": "batch.invalid", "detail": str(exc)[:300]}
        with self._lock:
            self.batches += 1
            results = [self._take(raw, key).model_dump() for raw in batch.records]
        return 200, {"batch_id": batch.batch_id, "results": results}

    def _take(self, raw: dict[str, Any], key: bytes) -> RecordResult:
        model = RECORD_MODELS.get(str(raw.get("record_type")))
        try:
            if model is None:
                raise ValueError("unknown record_type")
            record = model.model_validate(raw)
        except ValueError as exc:  # pydantic's ValidationError is one
            version = raw.get("version")
            return RecordResult(record_type=str(raw.get("record_type")), record_id=str(raw.get("record_id")),
                                version=version if isinstance(version, int) else 0, outcome="refused",
                                code="schema.invalid:" + _where(exc))
        outcome, code = self._judge(record, key)
        return RecordResult(record_type=record.record_type, record_id=record.record_id, version=record.version,
                            outcome=outcome, code=code)

    def _judge(self, record: Record, key: bytes) -> tuple[Outcome, str | None]:
        if record.record_id in self.refuse:
            return "refused", "business.rejected"
        try:
            identity = self._identity(record, key)
        except EnvelopeError:
            return "refused", "identity.unreadable"
        return self._hold(record, identity), None

    def _identity(self, record: Record, key: bytes) -> dict[str, Any] | None:
        sealed = getattr(record, "identity_sealed", None)
        if sealed is None:
            return None
        ctx = context(record.record_type, record.record_id, record.version)
        opened: dict[str, Any] = json.loads(open_item(key, sealed, ctx))
        return opened

    def _hold(self, record: Record, identity: dict[str, Any] | None) -> Outcome:
        slot = (record.record_type, record.record_id)
        held = self.held.get(slot)
        if held is not None and held.record["version"] >= record.version:
            held.times_received += held.record["version"] == record.version
            return "duplicate"
        self.held[slot] = Held(record.model_dump(mode="json"), identity)
        self.arrivals.append((record.record_id, record.version))
        return "accepted"


def _where(exc: ValueError) -> str:
    """The field a refused record failed on (record_type when the type is unknown)."""
    if isinstance(exc, ValidationError):
        return ".".join(str(p) for p in exc.errors()[0]["loc"])
    return "record_type"
