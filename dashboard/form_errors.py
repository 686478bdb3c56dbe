"""Validation errors as the UI shows them: one Chinese sentence naming the field, never pydantic's English.

Every page that validates a form through a pydantic model (tasks, command, signals) reads its message here.
An error that brings its own Chinese (`ctx.message_zh`, e.g. invalid.date_range) keeps it; pydantic's own
error types and our models' custom ValueErrors are translated below; anything else reads 「输入不合法」.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

FIELD_ZH: dict[str, str] = {
    "title": "名称", "type": "类型", "deadline": "期限", "deadline_hours": "时限（小时）", "progress": "进度",
    "status": "状态", "note": "说明", "reason": "原因", "description": "说明", "priority": "优先级",
    "assignee_institution_id": "承办机构", "assignee_team_id": "承办队伍", "team_ids": "出动队伍",
    "allocations": "物资调拨", "quantity": "数量", "site_id": "物资点", "item_code": "物资", "incident_id": "事件",
    "lon": "经度", "lat": "纬度", "location": "位置", "area": "范围", "counts": "处置数量",
    "persons_traced": "流调人数", "samples_taken": "采样数", "sites_disinfected": "消杀点位", "to": "目标状态",
    "user_id": "指派人员", "since": "开始日期", "until": "结束日期", "date": "日期", "q": "搜索词",
    "state": "状态", "model": "模型", "limit": "条数",
    # 跨地区协查 (assist.models)
    "to_district": "协查区", "subject_kind": "对象类型", "facts": "核查事项", "personal": "个人信息", "name": "名称",
    "id_number": "身份证号", "phone": "电话", "address": "住址", "place_name": "地点名称", "place": "地点坐标",
    "assignee": "承办人", "findings": "核查结果", "attachments": "附件", "size": "大小", "sha256": "校验值",
}
_TYPE_ZH: dict[str, str] = {
    "missing": "必须填写", "string_too_short": "不能为空", "string_too_long": "过长（最多 {max_length} 个字符）",
    "too_short": "至少需要 {min_length} 项", "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}", "less_than_equal": "不能大于 {le}", "greater_than": "必须大于 {gt}",
    "less_than": "必须小于 {lt}", "int_parsing": "必须是整数", "int_from_float": "必须是整数",
    "int_type": "必须是整数", "float_parsing": "必须是数字", "float_type": "必须是数字", "decimal_parsing": "必须是数字",
    "bool_parsing": "必须是“是”或“否”", "literal_error": "不是可选的值", "enum": "不是可选的值",
    "extra_forbidden": "不是可填写的项目", "string_pattern_mismatch": "格式不正确", "string_type": "必须是文字",
    "datetime_parsing": "时间格式不正确", "datetime_from_date_parsing": "时间格式不正确", "datetime_type": "时间格式不正确",
    "date_parsing": "日期格式不正确", "date_from_datetime_parsing": "日期格式不正确", "date_type": "日期格式不正确",
    "timezone_aware": "时间须带时区", "list_type": "必须是列表", "dict_type": "格式不正确", "json_invalid": "格式不正确",
    "url_scheme": "链接须以 http://、https:// 或 / 开头", "time_in_future": "时间不能晚于当前",
    "date_in_future": "日期不能晚于今天", "id_number_format": "身份证号须为17位数字加1位校验码",
    "id_number_checksum": "身份证号校验码不正确", "date_range": "超出允许的日期范围",
}
# Our models' own ValueErrors, by their English text.
_VALUE_ZH: dict[str, str] = {
    "give exactly one of assignee_institution_id or assignee_team_id": "请选择一个承办机构或承办队伍（只能选一个）",
    "give either location or area, not both": "位置与范围只能填写其一",
    "must not be blank": "不能为空白",
    "control characters are not allowed": "不能包含控制字符",
    "polygon rings must be closed (first position equals last)": "多边形的首尾坐标必须相同",
    "give incident_id or both lon and lat": "请先选择事件，或在地图上点选位置",
    "team_ids must not repeat": "出动队伍不能重复",
    "window_end is before window_start": "结束时间早于开始时间",
    "until is before since": "结束日期早于开始日期",
    "the period is longer than 366 days": "统计时段不能超过 366 天",
    "bbox must be 'west,south,east,north'": "须为“西,南,东,北”四个数",
    "bbox must satisfy -180 ≤ west < east ≤ 180 and -90 ≤ south < north ≤ 90": "须满足 西<东、南<北 且在经纬度范围内",
    "at most 50 diseases": "病种最多 50 个",
    "region must be a 6/9/12-digit region code, 'h3:<cell>' or 'inst:<id>'": "须为6/9/12位区划编码、网格或机构",
}
FALLBACK_ZH = "输入不合法"


def field_zh(name: str | None) -> str:
    """The Chinese label of a field path ('allocations.0.quantity' → 物资调拨第1项 数量)."""
    if not name:
        return "请求"
    parts = [p for p in str(name).split(".") if p]
    words = [f"第{int(p) + 1}项" if p.isdigit() else FIELD_ZH.get(p, "输入项") for p in parts]
    return " ".join(words)


def message_zh(err: Mapping[str, Any]) -> str:
    """The Chinese reason of one pydantic error dict (from `ValidationError.errors()`)."""
    ctx = err.get("ctx") or {}
    if err.get("type") == "date_range":  # its message_zh names the field in English and the bounds in UTC
        window = re.search(r"（([^：（）]+)：", str(ctx.get("message_zh") or ""))
        return f"{_TYPE_ZH['date_range']}（{window.group(1)}）" if window else _TYPE_ZH["date_range"]
    if ctx.get("message_zh"):
        return str(ctx["message_zh"])
    if "input" in err and err["input"] is None and str(err.get("type")).endswith("_type"):
        return _TYPE_ZH["missing"]  # a form field left empty arrives as None
    if err.get("type") == "value_error":
        raw = str(ctx.get("error") or "")
        return _VALUE_ZH.get(raw, FALLBACK_ZH)
    template = _TYPE_ZH.get(str(err.get("type")))
    if template is None:
        return FALLBACK_ZH
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template.split("（")[0]


def describe(exc: ValidationError) -> str:
    """'输入有误：<field>（<reason>）' for the first error; a model-level error names no field."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err.get("loc") or ())
    why = message_zh(err)
    return f"输入有误：{field_zh(loc)}（{why}）" if loc else f"输入有误：{why}"
