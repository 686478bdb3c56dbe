"""The refusals of the assist domain (one DomainError subclass; stable codes, English and Chinese messages)."""
from __future__ import annotations

from core.errors import DomainError


class AssistError(DomainError):
    """A refused 协查 action: `kind` is not_found | forbidden | conflict | invalid | unavailable."""


def not_found(request_id: int | str) -> AssistError:
    return AssistError("not_found", "assist.not_found", f"assist request {request_id} not found", "协查请求不存在")
