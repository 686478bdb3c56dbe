"""API errors: a stable code, the field, and messages in Chinese and English; never a bare 500."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by views; rendered as {"error": {"code", "message", "message_zh", "field"}}."""

    def __init__(self, status: int, code: str, message: str, message_zh: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.message_zh = status, code, message, message_zh
        self.field, self.headers = field, headers or {}

    def body(self) -> dict[str, Any]:
        err = {"code": self.code, "message": self.message, "message_zh": self.message_zh}
        if self.field:
            err["field"] = self.field
        return {"error": err}


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as [{field, code, message}] with dotted field paths."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or None, "code": f"invalid.{e['type']}", "message": e["msg"],
         **({"message_zh": e["ctx"]["message_zh"]} if "message_zh" in (e.get("ctx") or {}) else {})}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _json(err: ApiError):
    resp = jsonify(err.body())
    resp.status_code = err.status
    resp.headers.update(err.headers)
    return resp


def _domain(exc: DomainError) -> Response:
    """Every refusal of a domain package (dispatch, signals, command, layers, dates …): status from its kind."""
    return _json(ApiError(exc.status, exc.code, exc.message, exc.message_zh, exc.field))


_HTTP_ZH = {400: "请求无效", 401: "未登录或凭证无效", 403: "无权访问", 404: "资源不存在", 405: "方法不允许",
            413: "请求过大", 415: "不支持的内容类型", 429: "请求过于频繁"}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _json)
    app.register_error_handler(DomainError, _domain)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        errors = validation_errors(exc)
        first = errors[0]
        # An error that brings its own Chinese message (e.g. invalid.date_range) is the answer's headline.
        code, message, zh = (first["code"], first["message"], first["message_zh"]) if "message_zh" in first \
            else ("invalid.request", "request body is invalid", "请求内容不合法")
        resp = jsonify({"error": {"code": code, "message": message, "message_zh": zh, "field": first["field"],
                                  "details": errors}})
        resp.status_code = 422
        return resp

    @app.errorhandler(OperationalError)
    def _db_down(exc: OperationalError):
        log.warning("database unavailable: %s", exc.orig)
        return _json(ApiError(503, "service.database_unavailable", "database unavailable, retry later",
                              "数据库暂不可用，请稍后重试", headers={"Retry-After": "5"}))

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        """Bodies over MAX_CONTENT_LENGTH (chunked, form posts): the JSON error body on every path."""
        return _json(ApiError(413, "request.too_large", "request body too large", _HTTP_ZH[413], "body"))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not request.path.startswith(("/api/", "/ogc/")) and request.path != "/ogc":
            return exc
        code = exc.code or 500
        allow = getattr(exc, "valid_methods", None)  # 405: say which methods the path has
        return _json(ApiError(code, f"http.{code}", exc.description or exc.name, _HTTP_ZH.get(code, exc.name),
                              headers={"Allow": ", ".join(sorted(allow))} if allow else None))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return _json(ApiError(500, "server.internal", "internal error", "服务器内部错误"))
