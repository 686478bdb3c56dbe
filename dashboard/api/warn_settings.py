"""`/api/v1/warn/events-config`: read (city admin, district commanders) and replace (city admin) `warn.events`."""
from __future__ import annotations

from typing import Any

from alerting.config import EventsCfg
from alerting.events_settings import READ_ROLES, WRITE_ROLES, events_settings, replace_events_settings
from dashboard.api import bp
from dashboard.api.requests import caller, in_transaction, json_body, render
from dashboard.auth import require_principal
from dashboard.openapi import register_operation

TAGS = ("warn 预警设置",)
PATH = "/warn/events-config"


@bp.get(PATH)
@require_principal(*READ_ROLES)
def warn_events_config_get() -> Any:
    return render(EventsCfg, in_transaction(events_settings))


@bp.put(PATH)
@require_principal(*WRITE_ROLES)
def warn_events_config_put() -> Any:
    body, actor = json_body(EventsCfg), caller()  # validated before anything is written
    return render(EventsCfg, in_transaction(lambda s: replace_events_settings(s, actor=actor, new=body)))


register_operation(f"/api/v1{PATH}", "get", "预警事件设置（融合、定级规则、预警预算；市级管理员与区指挥长可查看）",
                   response_model=EventsCfg, tags=TAGS)
register_operation(f"/api/v1{PATH}", "put", "修改预警事件设置（全市生效，仅市级管理员；校验后整体替换并审计）",
                   request_model=EventsCfg, response_model=EventsCfg, tags=TAGS)
