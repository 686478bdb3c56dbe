"""Why a task action is not available to this user, in Chinese: the screens put it on the disabled control."""
from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.service import OPEN_STATES, STATE_ZH, _children
from store.dispatch import Task

WHO_ZH = {
    "accept": "仅承办单位（机构、队伍）或本区指挥员可签收",
    "return": "仅承办单位（机构、队伍）或本区指挥员可退回",
    "feedback": "仅承办单位（机构、队伍）或本区指挥员可反馈进度",
    "split": "仅本区指挥员可分解本区任务",
    "cancel": "仅任务下发方可撤销（市级任务由市级平台撤销，区级任务由本区指挥员撤销）",
}


def disabled_reasons(task: Task, allowed: set[str], *, has_live_children: bool) -> dict[str, str]:
    """For each action not in `allowed`: which role may act, or why nobody may now."""
    state = STATE_ZH.get(task.state, task.state)
    out: dict[str, str] = {}
    for action, who in WHO_ZH.items():
        if action in allowed:
            continue
        if action in ("accept", "return") and task.state != "issued":
            out[action] = f"任务当前为{state}，只有已下发的任务可{'签收' if action == 'accept' else '退回'}"
        elif action == "feedback" and has_live_children:
            out[action] = "已分解任务的进度由子任务汇总，请在子任务上反馈"
        elif action in ("feedback", "split", "cancel") and task.state not in OPEN_STATES:
            out[action] = f"任务当前为{state}，不能再操作"
        elif action == "split" and task.state == "issued":
            out[action] = "任务签收后才能分解；" + who
        elif action == "cancel" and task.city_task_id:
            out[action] = "仅市级平台可撤销市级下发的任务"
        else:
            out[action] = who
    return out



def task_disabled_reasons(session: Session, task: Task, allowed: set[str]) -> dict[str, str]:
    return disabled_reasons(task, allowed, has_live_children=any(c.state != "cancelled"
                                                                  for c in _children(session, task)))
