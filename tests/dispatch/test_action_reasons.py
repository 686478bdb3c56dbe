"""Issue #15 item 10: disabled actions on /tasks and /signals say (title) which role may act; 开始核实 without
a note goes ahead (a routine step for the duty officer), other moves without a note say what is needed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.action_reasons import WHO_ZH, task_disabled_reasons
from dispatch.models import SubtaskSpec, TaskCreate
from dispatch.service import accept_task, allowed_actions, create_task, split_task
from tests.factories.dispatch import DISTRICT, World

DEADLINE = datetime.now(UTC) + timedelta(days=30)  # deadlines must lie ahead


def _walk(node: Any) -> list[Any]:
    out = [node]
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            out += _walk(child)
    return out


def test_task_actions_name_who_may_act(db, world: World) -> None:  # type: ignore[no-untyped-def]
    from dashboard.pages.tasks import _actions

    cmd = world.principals["commander"]
    task, _ = create_task(db, actor=cmd, default_district=DISTRICT, data=TaskCreate(
        title="消杀", type="disinfection", deadline=DEADLINE))
    analyst = world.principals["analyst"]
    allowed = allowed_actions(db, actor=analyst, task=task)
    why = task_disabled_reasons(db, task, allowed)
    assert allowed == set() and why["accept"] == WHO_ZH["accept"] and "指挥员" in why["split"]
    nodes = _walk(_actions(allowed, [], why))
    accept = next(n for n in nodes if getattr(n, "id", None) == "tasks-accept")
    assert accept.disabled and accept.title == WHO_ZH["accept"]
    assert all(getattr(n, "title", None) for n in nodes if getattr(n, "disabled", False)
               and type(n).__name__ in ("Button", "Fieldset")), "every disabled action says why"

    accept_task(db, actor=cmd, task_id=task.id)
    split_task(db, actor=cmd, task_id=task.id, specs=[SubtaskSpec(title="子任务", deadline=DEADLINE,
                                                                  assignee_institution_id=world.institutions[0])])
    why = task_disabled_reasons(db, task, allowed_actions(db, actor=cmd, task=task))
    assert why["feedback"].startswith("已分解任务的进度由子任务汇总") and why["accept"].startswith("任务当前为已签收")


def test_signal_buttons_name_the_role_and_verify_needs_no_note() -> None:
    from dashboard.pages import signals as page

    detail = {"state": "verifying", "allowed_transitions": ["excluded", "suspected"], "receipts": []}
    analyst = type("P", (), {"role": "district_analyst"})()
    nodes = _walk(page._actions(detail, analyst))  # type: ignore[arg-type]
    assert not [n for n in nodes if getattr(n, "disabled", False)]  # the analyst may do both
    detail = {"state": "suspected", "allowed_transitions": ["excluded"], "receipts": []}
    nodes = _walk(page._actions(detail, analyst, "请先在上方填写处置说明，再点击「排除」"))  # type: ignore[arg-type]
    confirm = next(n for n in nodes if getattr(n, "children", None) == "确认事件")
    assert confirm.disabled and confirm.title == "仅区级指挥员、市级管理员可执行此操作"
    notice = next(n for n in nodes if getattr(n, "id", None) == "sig-notice")
    assert notice.children.startswith("请先在上方填写处置说明") and notice.role == "alert"


def test_start_verification_without_note(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dashboard.pages import signals as page

    calls: list[dict[str, Any]] = []

    class _Session:
        def __enter__(self) -> _Session:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

        def begin(self) -> _Session:
            return self

    monkeypatch.setattr(page, "_principal", lambda: object())
    monkeypatch.setattr(page, "services", lambda: type("S", (), {"session_factory": staticmethod(_Session)})())
    monkeypatch.setattr(page.service, "transition", lambda s, **kw: calls.append(kw))
    assert page.act(7, "verifying", None) == "已开始核实"
    assert calls[-1]["reason"] == page.VERIFY_DEFAULT_NOTE and calls[-1]["to"] == "verifying"
    assert page.act(7, "excluded", "  ") == "请先在上方填写处置说明，再点击「排除」"
    assert len(calls) == 1  # nothing written for the refused move
