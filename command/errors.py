"""Refusals of the command domain: a stable code, the field (and row of an import), English and Chinese messages."""
from __future__ import annotations

from core.errors import DomainError


class CommandError(DomainError):
    """`kind` is not_found | forbidden | conflict | invalid (the web layer maps it to 404/403/409/422)."""
