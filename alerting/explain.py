"""Why a signal fired, in one Chinese sentence built from its model, parameters and evidence."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from alerting.events import GRADE_ZH, SOURCE_ZH
from store.labels import UNKNOWN_MODEL_ZH, model_name


def _n(x: Any, digits: int = 1) -> str:
    """A number for prose: integers without decimals, others rounded."""
    if x is None:
        return "—"
    v = float(x)
    return str(int(v)) if v.is_integer() else f"{v:.{digits}f}"


def _where(sig: dict[str, Any]) -> str:
    ev = sig.get("evidence") or {}
    return sig.get("region_name") or ev.get("region_name") or sig.get("region_code") or ""


def _disease(sig: dict[str, Any]) -> str:
    ev = sig.get("evidence") or {}
    return sig.get("disease_name") or ev.get("disease_name") or sig.get("disease_code") or ""


def _single_case(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    cases = ev.get("cases") or []
    days = "、".join(sorted({c.get("report_date", "") for c in cases})) or ev.get("alarm_day", "")
    return (f"{model_name('single_case')}：{_disease(sig)}属于单病例预警病种，报告 1 例即触发。{_where(sig)}"
            f"于 {days} 报告 {_n(ev.get('observed', len(cases)))} 例。")


def _count_threshold(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    return (f"{model_name('count_threshold')}：{_where(sig)}{_disease(sig)}截至 {ev.get('alarm_day')} 的近{p.get('window', 1)}天病例数 "
            f"{_n(ev.get('observed'))} 达到设定阈值 {_n(p.get('min_cases'))} 例。")


def _case_cluster(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    streets = "、".join((ev.get("cluster") or {}).get("location_names") or []) or _where(sig)
    return (f"{model_name('case_cluster')}：{streets}截至 {ev.get('alarm_day')} 的近{p.get('days', 1)}天内，"
            f"{_n(ev.get('observed'))} 例{_n(p.get('max_age'))}岁及以下{_disease(sig)}病例的住址在 {_n(p.get('radius_m'))} 米"
            f"范围内，达到聚集性病例阈值 {_n(p.get('min_cases'))} 例（托幼机构聚集的征象）。")


def _moving_percentile(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    used = [w for w in (ev.get("baseline_windows") or []) if w is not None]
    return (f"{model_name('moving_percentile')}：{_where(sig)}{_disease(sig)}截至 {ev.get('alarm_day')} 的近{p.get('window', 7)}天病例数 "
            f"{_n(ev.get('observed'))} 超过历史同期第{_n(p.get('percentile'))}百分位数 {_n(ev.get('threshold'))}"
            f"（基线：过去{p.get('years')}年同期及前后各{p.get('weeks_around')}周共 {len(used)} 个{p.get('window', 7)}天窗口，"
            f"中位数 {_n(ev.get('baseline'))}；且不少于 {_n(p.get('min_count'))} 例）。")


def _ears(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    method = p.get("method", "C1")
    guard = "无间隔期" if method == "C1" else "间隔2天"
    head = (f"{model_name('ears', method)}：{ev.get('institution_name', _where(sig))}{ev.get('syndrome_name', '')}症候群 "
            f"{ev.get('alarm_day')} 病例数 {_n(ev.get('observed'))}")
    base = (f"基线为此前{p.get('baseline')}天（{guard}）均值 {_n(ev.get('baseline'), 2)}、标准差 "
            f"{_n(ev.get('baseline_sd'), 2)}，α={p.get('alpha')}，z={_n(p.get('z_alpha'), 2)}")
    if method == "C3":
        return (f"{head}，连同前两天的超出量，C3 统计量 {_n(ev.get('c3'), 2)} 超过 {_n(p.get('z_alpha'), 2)}"
                f"（当日上限 {_n(ev.get('threshold'), 1)}；{base}）。")
    return f"{head} 超过上限 {_n(ev.get('threshold'), 1)}（{base}）。"


def _cusum(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    return (f"{model_name('cusum')}：{_where(sig)}{_disease(sig)} {ev.get('alarm_day')} 病例数 {_n(ev.get('observed'))}，"
            f"标准化后的累积和 {_n(ev.get('cusum'), 2)} 超过决策界限 h={_n(p.get('h'))}"
            f"（k={_n(p.get('k'))}；基线为此前{p.get('baseline')}天、间隔{p.get('guard', 0)}天的均值 "
            f"{_n(ev.get('baseline'), 2)}、标准差 {_n(ev.get('baseline_sd'), 2)}；当日触发病例数 "
            f"{_n(ev.get('threshold'), 1)}）。")


def _farrington(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    return (f"{model_name('farrington_flexible')}：{_where(sig)}{_disease(sig)} {ev.get('iso_week')}"
            f"（{ev.get('week_start')} 至 {ev.get('alarm_day')}）病例数 {_n(ev.get('observed'))} 超过上限 "
            f"{_n(ev.get('threshold'), 1)}（期望 {_n(ev.get('expected'), 1)} 例；拟合过去{p.get('b')}年同期前后各"
            f"{p.get('w')}周的准泊松回归，α={p.get('alpha')}，上限算法 {p.get('thresholdMethod')}）。")


def _scan(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    c = ev.get("cluster") or {}
    names = c.get("location_names") or c.get("locations") or []
    return (f"{model_name('scan')}：以{names[0] if names else _where(sig)}为中心、半径 {_n(c.get('radius_km'), 2)} 公里的 "
            f"{len(names)} 个街道（{'、'.join(names)}），在 {c.get('start')} 至 {c.get('end')} 的 {c.get('days')} 天内"
            f"{_disease(sig)}观察到 {_n(c.get('observed'))} 例，期望 {_n(c.get('expected'), 1)} 例"
            f"（O/E={_n(c.get('observed_over_expected'), 1)}），对数似然比 {_n(c.get('llr'), 1)}，"
            f"P={_n(c.get('p_value'), 3)}（{p.get('replications')} 次蒙特卡罗重排），"
            f"复发间隔约 {_n(c.get('recurrence_interval_days'), 0)} 天；研究期为最近 {p.get('study_days')} 天。")


def _city_model(raw: Any) -> str:
    """The city's model in our words when we know it, else as the city named it."""
    name = model_name(raw)
    return str(raw) if name == UNKNOWN_MODEL_ZH and raw else name


def _city(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    extra = f"：{ev['description']}" if ev.get("description") else ""
    obs = f"（观察值 {_n(sig.get('observed'))}，阈值 {_n(sig.get('threshold'))}）" if sig.get("observed") is not None else ""
    model = _city_model(ev.get("model", sig.get("model")))
    return f"市级平台下发的预警信号（市级编号 {sig.get('external_id')}，模型 {model}）{extra}{obs}。"


_FAMILY = re.compile(r"(?<![A-Za-z_])(?:{}):[a-z][a-z0-9_]*".format("|".join(SOURCE_ZH)))


def _family_zh(family: str) -> str:
    """'cases:cusum' → 'CUSUM（病例报告）'."""
    source, _, model = family.partition(":")
    return f"{model_name(model)}（{SOURCE_ZH.get(source, source)}）"


def _event(sig: dict[str, Any], ev: dict[str, Any], p: dict[str, Any]) -> str:
    """A warning event: which alarms agree, from which sources, and why this grade."""
    facts = (ev.get("fusion") or {}).get("facts") or []
    days = sorted({f.get("day") for f in facts if f.get("day")})
    span = (f"{days[0]} 至 {days[-1]}" if len(days) > 1 else days[0]) if days else "近期"
    families = [_family_zh(f) for f in ev.get("models") or sorted({f"{f.get('source')}:{f.get('model')}" for f in facts})]
    grade_name = ev.get("grade_name") or GRADE_ZH.get(sig.get("grade") or "", "")
    head = (f"{_where(sig)}{_disease(sig) or '相关症候群'}{grade_name}预警事件：{span}，共有 {len(facts)} 条模型报警"
            f"一致提示异常，涉及 {len(families)} 类模型（{'、'.join(families) or '—'}）")
    sources = [SOURCE_ZH.get(x, x) for x in ev.get("sources") or []]
    if len(sources) > 1:
        head += f"，来自 {len(sources)} 个独立数据来源（{'、'.join(sources)}）"
    reasons = [_FAMILY.sub(lambda m: _family_zh(m.group(0)), r) for r in ev.get("reasons") or [] if r]
    why = f"定级依据：{'；'.join(reasons)}。" if reasons else f"定为{grade_name}预警。"
    return f"{head}。{why}"


_MISSING = re.compile(r"(?<![A-Za-z])None(?![A-Za-z])")
_EXPLAIN: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], str]] = {
    "single_case": _single_case, "count_threshold": _count_threshold, "case_cluster": _case_cluster,
    "moving_percentile": _moving_percentile,
    "ears_c1": _ears, "ears_c2": _ears, "ears_c3": _ears, "cusum": _cusum, "scan": _scan, "event": _event,
    "farrington_flexible": _farrington,
}


def explain(sig: dict[str, Any]) -> str:
    """The reason a signal fired, from a signal dict (as `service.signal_detail` returns)."""
    ev, params = sig.get("evidence") or {}, sig.get("params") or {}
    if sig.get("origin") == "city" and sig.get("model") != "event":
        return _city(sig, ev, params)
    fn = _EXPLAIN.get(sig.get("model", ""))
    if fn is None:
        return f"{model_name(sig.get('model'))}：观察值 {_n(sig.get('observed'))}，阈值 {_n(sig.get('threshold'))}。"
    return _MISSING.sub("—", fn(sig, ev, params))  # evidence without a field reads "—", never "None"
