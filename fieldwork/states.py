"""The life cycles of fieldwork: a contact's follow-up and an event's review, with the refusals of bad moves."""
from __future__ import annotations

from fieldwork.errors import refuse

# 待追踪 → 已追踪 → 医学观察 → 解除 / 转为病例 (a traced contact may also turn out to be a case)
CONTACT_MOVES: dict[str, frozenset[str]] = {
    "pending": frozenset({"traced"}),
    "traced": frozenset({"observing", "became_case"}),
    "observing": frozenset({"released", "became_case"}),
    "released": frozenset(),
    "became_case": frozenset(),
}
CONTACT_STATE_ZH = {"pending": "待追踪", "traced": "已追踪", "observing": "医学观察", "released": "解除",
                    "became_case": "转为病例"}
INVESTIGATION_STATUS_ZH = {"planned": "计划中", "in_progress": "进行中", "completed": "已完成"}
MILESTONE_ZH = {"investigation_started": "流调启动", "samples_taken": "采样", "contacts_listed": "密接判定",
                "contacts_traced": "密接追踪完成", "control_measures": "防控措施落实", "communication": "风险沟通"}
# 处置说明 (closed) → 评价 (evaluated) → 复核 (reviewed); a review may send the evaluation back (returned)
REVIEW_MOVES: dict[str, frozenset[str]] = {
    "closed": frozenset({"evaluated"}),
    "evaluated": frozenset({"reviewed", "returned"}),
    "returned": frozenset({"evaluated"}),
    "reviewed": frozenset(),
}
REVIEW_STATE_ZH = {"closed": "已结案待评价", "evaluated": "已评价待复核", "returned": "复核退回", "reviewed": "已复核"}


def check_contact_move(current: str, to: str) -> None:
    if to not in CONTACT_MOVES[current]:
        allowed = "、".join(CONTACT_STATE_ZH[s] for s in sorted(CONTACT_MOVES[current])) or "无"
        raise refuse("conflict", "contact_invalid_transition", f"a contact cannot go from {current} to {to}",
                     f"密接当前为{CONTACT_STATE_ZH[current]}，不能变为{CONTACT_STATE_ZH.get(to, to)}（可变为：{allowed}）",
                     "to")


def check_review_move(current: str | None, to: str) -> None:
    if current is None:
        raise refuse("conflict", "review_not_closed", "the event has not been closed with a disposal summary",
                     "事件尚未填写处置说明结案", "state")
    if to not in REVIEW_MOVES[current]:
        raise refuse("conflict", "review_invalid_step", f"the review cannot go from {current} to {to}",
                     f"闭环当前为{REVIEW_STATE_ZH[current]}，不能进行该步骤", "state")
