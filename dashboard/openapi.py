"""OpenAPI 3.1 document generated from the pydantic models of every registered route.

Register each route next to its view (any dashboard/api module), with the Flask rule as path:

    from dashboard.openapi import register_operation

    register_operation("/api/v1/dispatch/tasks/<int:task_id>/accept", "post", "签收任务",
                       request_model=AcceptRequest, response_model=TaskOut, tags=("dispatch",))

- `path`: the Flask rule; `<int:x>` becomes an integer path parameter `{x}`, `<x>` a string.
- `request_model`: the JSON body model (validated with `Model.model_validate`), or None.
- `response_model`: the success body model, or None for an empty body.
- `query_model`: a model whose fields are the query-string parameters (flat scalars only).
- `status`: the success status (default 200); `auth`: security schemes that may call it
  ("bearer", "session", "sm2"; empty for public routes).
- `response_content`: the success body as a raw OpenAPI `content` map, for bodies that are not a model
  (HTML, an event stream, this document itself).
- `media_type`: the success body's media type (default application/json; e.g. application/geo+json).
- `also`: further statuses and the models their bodies may have (e.g. 207 / 422 with the batch result);
  ErrorBody may be one of them.
Every rule under /api in the Flask URL map must be registered (tests/security/test_openapi_complete.py).
Every operation also documents the shared error body (`ErrorBody`) as its `default` response.
`build_document()` assembles the document; `/api/v1/openapi.json` serves it (dashboard/api/docs.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
_RULE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_CONVERTER_SCHEMA = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "string": {"type": "string", "minLength": 1, "maxLength": 200},
    "path": {"type": "string", "minLength": 1},
    None: {"type": "string", "minLength": 1, "maxLength": 200},
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "个人或设备访问令牌 (om_...)"},
    "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "登录会话"},
    "sm2": {"type": "apiKey", "in": "header", "name": "X-OneMap-Signature",
            "description": "SM2 签名请求：X-OneMap-Key-Id / Timestamp / Nonce / Signature，"
                           "签名串为 METHOD\\npath?query\\ntimestamp\\nnonce\\nsm3_hex(body)"},
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str
    field: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error: a stable code, the field at fault, and messages in English and Chinese."""

    error: ErrorDetail


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    summary: str
    request_model: type[BaseModel] | None
    response_model: type[BaseModel] | None
    query_model: type[BaseModel] | None
    tags: tuple[str, ...]
    status: int
    auth: tuple[str, ...]
    description: str
    response_content: dict[str, Any] | None = None
    media_type: str = "application/json"
    also: tuple[tuple[int, tuple[type[BaseModel], ...]], ...] = ()


class OperationOptions(TypedDict, total=False):
    """The keyword-only options of `register_operation`, for modules that register a table of routes."""

    query_model: type[BaseModel] | None
    status: int
    auth: tuple[str, ...]
    description: str
    response_content: dict[str, Any] | None
    media_type: str
    also: dict[int, tuple[type[BaseModel], ...]] | None


# A row of such a table: path, method, summary, request model, response model, options.
RouteRow = tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, OperationOptions]

_REGISTRY: dict[tuple[str, str], Operation] = {}


def register_operation(path: str, method: str, summary: str, request_model: type[BaseModel] | None = None,
                       response_model: type[BaseModel] | None = None, tags: tuple[str, ...] | list[str] = (), *,
                       query_model: type[BaseModel] | None = None, status: int = 200,
                       auth: tuple[str, ...] = ("bearer", "session"), description: str = "",
                       response_content: dict[str, Any] | None = None, media_type: str = "application/json",
                       also: dict[int, tuple[type[BaseModel], ...]] | None = None) -> None:
    """Add (or replace) the documentation of one route."""
    method = method.lower()
    _REGISTRY[(path, method)] = Operation(path, method, summary, request_model, response_model, query_model,
                                          tuple(tags), status, tuple(auth), description, response_content, media_type,
                                          tuple(sorted((also or {}).items())))


def operations() -> list[Operation]:
    return sorted(_REGISTRY.values(), key=lambda op: (op.path, op.method))


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """Flask rule → OpenAPI path template and its path parameters."""
    params = [{"name": name, "in": "path", "required": True, "schema": dict(_CONVERTER_SCHEMA.get(conv) or
                                                                              _CONVERTER_SCHEMA[None])}
              for conv, name in _RULE_PARAM.findall(rule)]
    return _RULE_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _query_params(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    defs.update(schema.get("$defs", {}))
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            prop.update(branches[0])
        elif branches:
            prop["anyOf"] = branches
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        out.append({"name": name, "in": "query", "required": name in required, "schema": prop,
                    **({"description": prop["description"]} if "description" in prop else {})})
    return out


def build_document(*, title: str = "OneMap 一张图 API", version: str = "1.0",
                   example_of: Callable[[type[BaseModel]], dict[str, Any] | None] = lambda model: None,
                   ) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation; `example_of(model)` gives request examples."""
    ops = operations()
    pairs: list[tuple[type[BaseModel], Any]] = [(ErrorBody, "serialization")]
    for op in ops:
        if op.request_model:
            pairs.append((op.request_model, "validation"))
        if op.response_model:
            pairs.append((op.response_model, "serialization"))
        pairs += [(model, "serialization") for _status, models in op.also for model in models]
    keys, defs_doc = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF)
    schemas: dict[str, Any] = dict(defs_doc.get("$defs", {}))
    paths: dict[str, Any] = {}
    for op in ops:
        template, params = openapi_path(op.path)
        if op.query_model:
            params += _query_params(op.query_model, schemas)
        item: dict[str, Any] = {
            "summary": op.summary, "operationId": f"{op.method}_{re.sub(r'[^A-Za-z0-9]+', '_', template).strip('_')}",
            "tags": list(op.tags), "parameters": params,
            "responses": {
                str(op.status): _response(op.response_model, keys, op.response_content, op.media_type),
                **{str(code): _any_of(models, keys) for code, models in op.also},
                "default": {"description": "错误 (error)", "content": {
                    "application/json": {"schema": keys[(ErrorBody, "serialization")]}}},
            },
            "security": [{name: []} for name in op.auth],
        }
        if op.description:
            item["description"] = op.description
        if op.request_model:
            body: dict[str, Any] = {"schema": keys[(op.request_model, "validation")]}
            example = example_of(op.request_model)
            if example is not None:
                body["example"] = example
            item["requestBody"] = {"required": True, "content": {"application/json": body}}
        paths.setdefault(template, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "区级传染病监测预警与应急指挥一张图平台接口。错误体统一为 ErrorBody（稳定的 code 与出错字段）。"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _response(model: type[BaseModel] | None, keys: dict[Any, Any],
              content: dict[str, Any] | None = None, media_type: str = "application/json") -> dict[str, Any]:
    if content is not None:
        return {"description": "成功", "content": content}
    if model is None:
        return {"description": "成功 (no content)"}
    return {"description": "成功", "content": {media_type: {"schema": keys[(model, "serialization")]}}}


def _any_of(models: tuple[type[BaseModel], ...], keys: dict[Any, Any]) -> dict[str, Any]:
    if not models:
        return {"description": "无内容 (no body)"}
    refs = [keys[(m, "serialization")] for m in models]
    schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return {"description": "见 schema", "content": {"application/json": {"schema": schema}}}
