"""Refusals of the command domain: a stable code, the field, English and Chinese messages."""
from __future__ import annotations


class CommandError(Exception):
    """`kind` is not_found | forbidden | conflict | invalid (the web layer maps it to 404/403/409/422)."""

    def __init__(self, kind: str, code: str, message: str, message_zh: str, field: str | None = None,
                 row: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.code, self.message, self.message_zh, self.field = kind, code, message, message_zh, field
        self.row = row  # 1-based data row of an import file, when the refusal concerns one
