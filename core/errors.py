"""Domain refusals: one exception with a kind, a stable code, the field, English and Chinese messages.

The kind says what went wrong in terms every edge understands; the web layer answers it with
`HTTP_STATUS[kind]`, a CLI or a page shows `message_zh` (and `field`, `row` where given).
"""
from __future__ import annotations

from typing import Literal

Kind = Literal["not_found", "forbidden", "conflict", "invalid", "unavailable", "misconfigured"]

HTTP_STATUS: dict[Kind, int] = {
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "invalid": 422,
    "unavailable": 503,  # a service the action needs is down or not configured; retry later
    "misconfigured": 500,  # a stored setting is broken; an administrator must fix it
}
KIND_OF_STATUS: dict[int, Kind] = {status: kind for kind, status in HTTP_STATUS.items()}


class DomainError(Exception):
    """A refused action: `kind` (see Kind), a stable `code`, messages, and where given the `field` and `row`."""

    def __init__(self, kind: Kind, code: str, message: str, message_zh: str, field: str | None = None,
                 row: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.code, self.message, self.message_zh, self.field = kind, code, message, message_zh, field
        self.row = row  # 1-based data row of an import file, when the refusal concerns one

    @property
    def status(self) -> int:
        """The HTTP status that answers this kind of refusal."""
        return HTTP_STATUS[self.kind]
