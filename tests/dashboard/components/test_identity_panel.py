"""查看身份信息 on /signals' evidence cases: the Dash callback's function shows the identity, audited with the purpose."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from accounts.pii_view import Identity, set_identity
from dashboard.components import identity_panel
from store.audit import AuditLog
from store.cases import CaseReport

PURPOSE = "流调电话回访核实密接"


@pytest.fixture(scope="module")
def case_id(services) -> int:  # type: ignore[no-untyped-def]
    with services.session_factory() as db:
        db.execute(text("INSERT INTO disease (code, name, name_en, klass, single_case, category) "
                        "VALUES ('tbm', '测试病', 'Test', '乙', false, 'test') ON CONFLICT DO NOTHING"))
        now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        case = CaseReport(source_id=f"TBM:{uuid.uuid4().hex[:8]}", disease_code="tbm", onset_date=date(2026, 3, 1),
                          diagnosis_time=now, report_time=now, district_code="310105")
        set_identity(case, services.cipher, Identity(name="张测试", id_number="310105199001011234",
                                                     phone="13800001111", address="上海市长宁区测试路1号"))
        db.add(case)
        db.commit()
        return case.id


@pytest.fixture(scope="module")
def users(principal_token) -> dict[str, tuple[Any, str]]:  # type: ignore[no-untyped-def]
    return {"analyst": principal_token("district_analyst", may_view_pii=True),
            "commander": principal_token("district_commander")}


def _as(app: Any, token: str) -> Any:
    return app.test_request_context("/_dash-update-component", method="POST",
                                    headers={"Authorization": f"Bearer {token}"})


def _audit(services: Any, action: str, case_id: int) -> list[AuditLog]:
    with services.session_factory() as db:
        return list(db.scalars(select(AuditLog).where(AuditLog.action == action,
                                                      AuditLog.object_id == str(case_id))))


def _buttons(component: Any) -> list[Any]:
    found = [component] if getattr(component, "id", None) and isinstance(component.id, dict) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += _buttons(child)
    return found


def test_analyst_sees_identity_and_the_view_is_audited_with_the_purpose(app, services, users, case_id) -> None:  # type: ignore[no-untyped-def]
    before = len(_audit(services, "pii.view", case_id))
    with _as(app, users["analyst"][1]):
        answer = identity_panel.reveal(case_id, f"  {PURPOSE} ")
        shown = identity_panel.identity_view(answer)
    assert answer == {"case_id": case_id, "purpose": PURPOSE, "name": "张测试", "id_number": "310105199001011234",
                      "phone": "13800001111", "address": "上海市长宁区测试路1号"}
    assert "张测试" in str(shown)
    rows = _audit(services, "pii.view", case_id)
    assert len(rows) == before + 1 and rows[-1].detail["purpose"] == PURPOSE


@pytest.mark.parametrize("purpose", [None, "", "看看", "   ab  ", "长" * 201])
def test_purpose_must_be_4_to_200_characters(app, services, users, case_id, purpose) -> None:  # type: ignore[no-untyped-def]
    before = len(_audit(services, "pii.view", case_id))
    with _as(app, users["analyst"][1]):
        assert identity_panel.reveal(case_id, purpose) == identity_panel.PURPOSE_INVALID
    assert len(_audit(services, "pii.view", case_id)) == before  # nothing shown, nothing written


def test_masked_role_is_refused_and_the_refusal_audited(app, services, users, case_id) -> None:  # type: ignore[no-untyped-def]
    before = len(_audit(services, "pii.denied", case_id))
    with _as(app, users["commander"][1]):
        assert identity_panel.reveal(case_id, PURPOSE) == identity_panel.NO_RIGHT
    assert len(_audit(services, "pii.denied", case_id)) == before + 1


def test_unknown_case_says_so(app, users) -> None:  # type: ignore[no-untyped-def]
    with _as(app, users["analyst"][1]):
        assert identity_panel.reveal(2_000_000_000, PURPOSE) == identity_panel.NOT_FOUND


def test_button_enabled_for_analyst_disabled_with_reason_for_masked_role(app, users, case_id) -> None:  # type: ignore[no-untyped-def]
    from dashboard.auth import current_principal

    cases = [{"id": case_id, "onset_date": "2026-03-01", "report_date": "2026-03-02"}]
    with _as(app, users["analyst"][1]):
        (button,) = _buttons(identity_panel.case_list(cases, current_principal()))
    assert button.children == "查看身份信息" and not button.disabled
    with _as(app, users["commander"][1]):
        panel = identity_panel.case_list(cases, current_principal())
    (button,) = _buttons(panel)
    assert button.disabled and button.title == "需有个人信息查看权限"
    assert "需有个人信息查看权限" in str(panel)
