"""The refusals of the fieldwork domain (one DomainError subclass; stable codes, English and Chinese)."""
from __future__ import annotations

from core.errors import DomainError, Kind


class FieldworkError(DomainError):
    """A refused 流调 or review action: `kind` is not_found | forbidden | conflict | invalid | unavailable."""


def refuse(kind: Kind, code: str, message: str, message_zh: str, field: str | None = None,
           row: int | None = None) -> FieldworkError:
    return FieldworkError(kind, f"fieldwork.{code}", message, message_zh, field, row)


def not_found(what: str, ident: int | str, what_zh: str) -> FieldworkError:
    return refuse("not_found", f"{what}_not_found", f"{what} {ident} not found", f"{what_zh}不存在")


def no_cipher() -> FieldworkError:
    return refuse("unavailable", "cipher_unavailable", "no personal-data key is configured",
                  "未配置个人信息加密密钥，无法保存或查看密切接触者身份")
