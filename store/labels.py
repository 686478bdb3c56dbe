"""Chinese display names of the codes kept in the tables: one name per warning model, everywhere it is shown.

Pages, the briefing, the explanations and the API's `model_zh` all read `model_name`; no other module keeps
its own copy.
"""
from __future__ import annotations

MODEL_ZH: dict[str, str] = {
    "single_case": "单病例预警",
    "count_threshold": "固定阈值",
    "case_cluster": "聚集性病例",
    "moving_percentile": "移动百分位法",
    "farrington_flexible": "Farrington灵活法",  # Noufaily 2013, R surveillance farringtonFlexible, ISO weeks
    "ears_c1": "EARS-C1",
    "ears_c2": "EARS-C2",
    "ears_c3": "EARS-C3",
    "ears": "EARS",  # other departments' feeds: EARS-C1/C2/C3 chosen per series (params.method)
    "cusum": "CUSUM",
    "scan": "时空重排扫描",
    "opinion": "舆情监测",
    "city": "市级下发",
    "event": "多模型融合预警事件",  # a warning event (signal.kind 'event'), fused from the alarms above
}
# Older or external spellings of the same models (rows written before the codes settled, city payloads).
_ALIASES: dict[str, str] = {"threshold": "count_threshold", "space_time_permutation": "scan",
                            "ears-c1": "ears_c1", "ears-c2": "ears_c2", "ears-c3": "ears_c3",
                            "moving-percentile": "moving_percentile", "single-case": "single_case",
                            "farrington-flexible": "farrington_flexible", "farrington": "farrington_flexible"}
UNKNOWN_MODEL_ZH = "其他模型"


def model_name(code: str | None, method: str | None = None) -> str:
    """The one Chinese display name of a model code (any spelling); '其他模型' for a code we do not know.

    `method` (a feed signal's params.method, 'C1'..'C3') makes a plain 'ears' precise.
    """
    key = (code or "").strip().lower()
    key = _ALIASES.get(key, key)
    variant = (method or "").upper()
    if key == "ears" and variant in ("C1", "C2", "C3"):
        key = f"ears_{variant.lower()}"
    return MODEL_ZH.get(key, UNKNOWN_MODEL_ZH)


# Task timeline kinds (task_event.kind) and the events delivered to the city (callback_delivery.event).
TASK_EVENT_ZH: dict[str, str] = {
    "created": "创建", "accepted": "签收", "returned": "退回", "cancelled": "撤销", "split": "分解", "feedback": "反馈",
    "rollup": "汇总", "reminder": "督办提醒", "escalation": "上报督办", "received": "市级下发", "updated": "更新",
}
CALLBACK_EVENT_ZH: dict[str, str] = {
    "task.state_changed": "状态变更", "task.progress": "进度反馈", "task.split": "任务分解", "task.created": "任务创建",
    "task.feedback": "进度反馈", "task.returned": "退回", "task.accepted": "签收", "task.cancelled": "撤销",
}
UNKNOWN_EVENT_ZH = "其他事件"


def event_name(code: str | None) -> str:
    """The Chinese label of a task event kind or a city callback event; never the code itself."""
    key = (code or "").strip()
    return TASK_EVENT_ZH.get(key) or CALLBACK_EVENT_ZH.get(key) or UNKNOWN_EVENT_ZH


# Model parameters as the evidence panel lists them.
PARAM_ZH: dict[str, str] = {
    "window": "窗口天数", "percentile": "百分位数", "years": "基线年数", "weeks_around": "前后各取周数",
    "min_count": "最少病例数", "min_cases": "阈值病例数", "baseline": "基线天数", "alpha": "显著性水平α",
    "z_alpha": "临界值z", "method": "方法", "guard": "间隔天数", "k": "参考值k", "h": "决策界限h",
    "replications": "重排次数", "study_days": "研究期天数", "max_radius_km": "最大半径（公里）",
    "min_sigma": "最小标准差", "disease": "病种", "comparison": "比较方式", "c3_form": "C3算法",
    # farringtonFlexible's control list under R's names
    "b": "基线年数b", "w": "前后各取周数w", "reweight": "降权重拟合", "weightsThreshold": "降权阈值",
    "trend": "时间趋势项", "pThresholdTrend": "趋势显著性水平", "limit54": "最少病例数（周数）",
    "powertrans": "幂变换", "noPeriods": "季节分段数", "pastWeeksNotIncluded": "排除近期周数",
    "thresholdMethod": "上限算法",
}


def param_name(key: str) -> str:
    """The Chinese label of a model parameter; '参数' for one we have no name for."""
    return PARAM_ZH.get(key, "参数")
