"""Request bodies: a size limit (MAX_BODY_BYTES → 413) and a JSON nesting limit (→ 400), before any view reads them.

The size is checked from Content-Length before a byte is read; a chunked body (no Content-Length) is cut off
by Flask's MAX_CONTENT_LENGTH while it is read. JSON bodies are scanned for their nesting depth without
recursion, so the recursive JSON parser (and pydantic, and Dash) never sees a body that could exhaust the stack.
"""
from __future__ import annotations

import re
from array import array
from itertools import accumulate
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.errors import ApiError

MAX_JSON_DEPTH = 64
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string, escapes included (unrolled loop: linear time, no backtracking).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Opening brackets → +1, closing → -1 (as signed bytes), so the running sum is the nesting depth.
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays/objects in `data` (an upper bound for malformed JSON); no recursion."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(accumulate(array("b", brackets.translate(_SIGNS)))))


def too_large(limit: int) -> ApiError:
    mib = limit / (1024 * 1024)
    return ApiError(413, "request.too_large", f"request body larger than {limit} bytes ({mib:g} MiB)",
                    f"请求体超过 {mib:g} MiB 上限", field="body")


def too_deep(limit: int = MAX_JSON_DEPTH) -> ApiError:
    return ApiError(400, "json.too_deep", f"JSON nested deeper than {limit} levels", f"JSON 嵌套超过 {limit} 层",
                    field="body")


def _error(err: ApiError) -> Response:
    resp = jsonify(err.body())
    resp.status_code = err.status
    return resp


def _read_body(limit: int) -> bytes | None:
    """The body of a JSON or chunked request (read once, cached for the view and form parser), else None.

    A chunked body has no Content-Length; Flask's MAX_CONTENT_LENGTH stream stops at the limit, but its
    readall() returns the first `limit` bytes without complaint, so reaching the limit counts as too large.
    """
    chunked = request.content_length is None and "wsgi.input_terminated" in request.environ
    if request.method not in BODY_METHODS or not (request.is_json or chunked):
        return None
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large(limit) from None
    if chunked and len(data) >= limit:
        raise too_large(limit)
    return data


def check_body() -> Any:
    """before_request: refuse oversized bodies (413) and over-nested JSON (400) with the JSON error body."""
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    try:
        if request.content_length is not None and request.content_length > limit:
            raise too_large(limit)
        data = _read_body(limit)
        if data and request.is_json and json_depth(data) > MAX_JSON_DEPTH:
            raise too_deep()
    except ApiError as err:
        return _error(err)
    return None


def install_body_limits(app: Flask, max_body_bytes: int) -> None:
    """Register the check first, so no other hook (CSRF form parsing, signature digest) reads a body before it."""
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.before_request_funcs.setdefault(None, []).insert(0, check_body)
