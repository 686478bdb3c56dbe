"""`/api/v1/fieldwork/...`: 流调, contacts' follow-up, response milestones, 7-1-7 timeliness, closed-loop review.

The city's 流调 system posts investigations SM2-signed to `/fieldwork/intake` (per-record outcomes,
idempotent by source_id); district staff enter and edit with a bearer token or their session. Contacts'
identities are masked unless `clear=true` is asked by a role with the personal-data right (audited).
"""
from __future__ import annotations

from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from dashboard.api import bp
from dashboard.api.requests import (
    caller,
    in_transaction,
    json_body,
    json_data,
    path_id,
    publish_committed,
    query_args,
    render,
)
from dashboard.auth import require_principal, require_signed_client
from dashboard.briefing_docx import DOCX_MIME
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import RouteRow, register_operation
from dashboard.review_docx import build_review_docx
from fieldwork import csv_import, edits, review, views
from fieldwork.batch import MAX_BATCH, IntakeResult, intake_batch
from fieldwork.chain import build_chain
from fieldwork.chain_facts import load_chain_facts
from fieldwork.intake import save_investigation
from fieldwork.models import (
    CloseBody,
    ContactsIn,
    ContactStateBody,
    EvaluationBody,
    EventQuery,
    IntakeBatchIn,
    InvestigationIn,
    MilestoneBody,
    ReviewBody,
    TimelinessQuery,
)
from fieldwork.outputs import (
    ChainOut,
    ContactsAddedOut,
    ContactStateOut,
    DistrictTimelinessOut,
    EventFieldworkOut,
    MilestoneOut,
    ReviewOut,
    SavedOut,
)
from fieldwork.review_report import review_report

TAGS = ("fieldwork 流调与闭环",)
STAFF = ("district_commander", "district_analyst", "city_admin")


def _records() -> list[Any]:
    body = json_data()
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise ApiError(422, "batch.not_a_list", "body must be {\"records\": [...]} with at least one record",
                       "请求体应为 {\"records\": [...]}，且至少一条记录", field="records")
    if len(records) > MAX_BATCH:
        raise ApiError(413, "batch.too_large", f"at most {MAX_BATCH} records per batch",
                       f"每批最多 {MAX_BATCH} 条记录", field="records")
    return records


def _announce(investigation_id: int | str) -> None:
    """Tell the map layers of 流调 (layers.exposure_places, contact_streets, hotspots) that 流调 data changed."""
    publish_committed([{"kind": "investigation", "id": investigation_id,
                        "district_code": services().settings.district_code}])


@bp.post("/fieldwork/intake")
@require_signed_client()
def fieldwork_intake():
    records, actor, svc = _records(), caller(), services()
    result = in_transaction(lambda s: intake_batch(s, records, actor=actor, district=svc.settings.district_code,
                                                   cipher=svc.cipher))
    status = 200 if result.rejected == 0 else (422 if result.accepted == 0 else 207)
    if result.accepted:
        _announce("batch")
    return render(IntakeResult, result, status)


@bp.post("/fieldwork/investigations")
@require_principal(*STAFF)
def create_investigation():
    data, actor, svc = json_body(InvestigationIn), caller(), services()
    edits.ensure_staff(actor)

    def flow(s: Session) -> dict[str, Any]:
        inv, status = save_investigation(s, data, actor=actor, district=svc.settings.district_code, cipher=svc.cipher)
        return {"id": inv.id, "status": status}

    result = in_transaction(flow)
    _announce(result["id"])
    return render(SavedOut, result, 201 if result["status"] == "created" else 200)


def _added(inv_id: int, contacts: list[Any]) -> dict[str, Any]:
    return {"investigation_id": inv_id, "added": len(contacts), "contact_ids": [c.id for c in contacts]}


@bp.post("/fieldwork/investigations/<int:investigation_id>/contacts")
@require_principal(*STAFF)
def add_contacts(investigation_id: int):
    body, actor, cipher = json_body(ContactsIn), caller(), services().cipher
    iid = path_id(investigation_id, "fieldwork.investigation", "流调记录不存在")
    added = in_transaction(lambda s: _added(iid, edits.add_contacts(
        s, actor=actor, investigation_id=iid, contacts=body.contacts, cipher=cipher)))
    _announce(iid)
    return render(ContactsAddedOut, added, 201)


@bp.post("/fieldwork/investigations/<int:investigation_id>/contacts.csv")
@require_principal(*STAFF)
def import_contacts(investigation_id: int):
    iid = path_id(investigation_id, "fieldwork.investigation", "流调记录不存在")
    contacts, actor, cipher = csv_import.parse_contacts(request.get_data()), caller(), services().cipher
    added = in_transaction(lambda s: _added(iid, edits.add_contacts(
        s, actor=actor, investigation_id=iid, contacts=contacts, cipher=cipher, source="csv")))
    _announce(iid)
    return render(ContactsAddedOut, added, 201)


@bp.post("/fieldwork/contacts/<int:contact_id>/state")
@require_principal(*STAFF)
def move_contact(contact_id: int):
    body, actor = json_body(ContactStateBody), caller()
    cid = path_id(contact_id, "fieldwork.contact", "密切接触者不存在")

    def flow(s: Session) -> dict[str, Any]:
        c = edits.move_contact(s, actor=actor, contact_id=cid, body=body)
        return {"id": c.id, "state": c.state, "traced_at": c.traced_at, "observation_start": c.observation_start,
                "released_on": c.released_on, "became_case_at": c.became_case_at, "became_case_id": c.became_case_id}

    moved = in_transaction(flow)
    _announce(cid)
    return render(ContactStateOut, moved)


def _event_id(signal_id: int) -> int:
    return path_id(signal_id, "fieldwork.event", "预警事件不存在")


@bp.post("/fieldwork/events/<int:signal_id>/milestones")
@require_principal(*STAFF)
def record_milestone(signal_id: int):
    body, actor, sid = json_body(MilestoneBody), caller(), _event_id(signal_id)

    def flow(s: Session) -> dict[str, Any]:
        m = edits.record_milestone(s, actor=actor, signal_id=sid, body=body)
        return {"kind": m.kind, "done_at": m.done_at, "note": m.note}

    return render(MilestoneOut, in_transaction(flow))


@bp.get("/fieldwork/events/<int:signal_id>")
@require_principal()
def event_fieldwork(signal_id: int):
    query, actor, sid, cipher = query_args(EventQuery), caller(), _event_id(signal_id), services().cipher
    return render(EventFieldworkOut, in_transaction(lambda s: views.event_detail(
        s, actor=actor, signal_id=sid, cipher=cipher, clear=query.clear, purpose=query.purpose)))


@bp.get("/fieldwork/events/<int:signal_id>/chain")
@require_principal()
def event_chain(signal_id: int):
    query, actor, sid, cipher = query_args(EventQuery), caller(), _event_id(signal_id), services().cipher
    return render(ChainOut, in_transaction(lambda s: build_chain(load_chain_facts(
        s, actor=actor, signal_id=sid, cipher=cipher, clear=query.clear, purpose=query.purpose))))


@bp.get("/fieldwork/timeliness")
@require_principal()
def district_timeliness():
    query, actor, district = query_args(TimelinessQuery), caller(), services().settings.district_code
    return render(DistrictTimelinessOut, in_transaction(lambda s: views.district_timeliness(
        s, actor=actor, district=district, first=query.from_, last=query.to, confirmed_only=query.confirmed_only)))


@bp.post("/fieldwork/events/<int:signal_id>/close")
@require_principal(*STAFF)
def close_event(signal_id: int):
    body, actor, sid = json_body(CloseBody), caller(), _event_id(signal_id)
    return render(ReviewOut, in_transaction(lambda s: views.review_dict(review.close_event(
        s, actor=actor, signal_id=sid, summary=body.summary, ip=request.remote_addr))))


@bp.post("/fieldwork/events/<int:signal_id>/evaluation")
@require_principal(*STAFF)
def evaluate_event(signal_id: int):
    body, actor, sid = json_body(EvaluationBody), caller(), _event_id(signal_id)
    return render(ReviewOut, in_transaction(lambda s: views.review_dict(review.evaluate(
        s, actor=actor, signal_id=sid, body=body))))


@bp.post("/fieldwork/events/<int:signal_id>/review")
@require_principal(*STAFF)
def review_event(signal_id: int):
    body, actor, sid = json_body(ReviewBody), caller(), _event_id(signal_id)
    return render(ReviewOut, in_transaction(lambda s: views.review_dict(review.review_event(
        s, actor=actor, signal_id=sid, body=body))))


@bp.get("/fieldwork/events/<int:signal_id>/review.docx")
@require_principal()
def review_document(signal_id: int):
    actor, sid = caller(), _event_id(signal_id)
    body = build_review_docx(in_transaction(lambda s: review_report(s, actor=actor, signal_id=sid)))
    return Response(body, mimetype=DOCX_MIME, headers={
        "Content-Disposition": f"attachment; filename=review-event-{sid}.docx", "Cache-Control": "no-store"})


# ---------------------------------------------------------------- OpenAPI

_P = "/api/v1/fieldwork"
_E = f"{_P}/events/<int:signal_id>"
_I = f"{_P}/investigations/<int:investigation_id>"
_CSV = ("Body: text/csv (UTF-8), header row then one contact a row; columns record_id, degree, name, id_number, "
        "phone, last_exposure_date, note. All rows or none; a bad row is refused naming its row and field.")
_ROUTES: list[RouteRow] = [
    (f"{_P}/intake", "post", "市级流调系统推送流调记录（SM2 签名，按来源编号幂等，逐条结果）", IntakeBatchIn, IntakeResult,
     {"auth": ("sm2",), "also": {207: (IntakeResult,), 422: (IntakeResult,)}}),
    (f"{_P}/investigations", "post", "区级录入流调记录（暴露场所、密接、采样）", InvestigationIn, SavedOut, {"status": 201}),
    (f"{_I}/contacts", "post", "追加密切接触者（全部成功或全部拒绝）", ContactsIn, ContactsAddedOut, {"status": 201}),
    (f"{_I}/contacts.csv", "post", "导入密切接触者 CSV 文件（全部成功或全部拒绝）", None, ContactsAddedOut,
     {"status": 201, "description": _CSV}),
    (f"{_P}/contacts/<int:contact_id>/state", "post",
     "密接追踪状态变更（待追踪→已追踪→医学观察→解除/转为病例；转为病例时可填 case_id 关联本区病例报告）",
     ContactStateBody, ContactStateOut, {}),
    (f"{_E}/milestones", "post", "记录早期响应节点完成时间", MilestoneBody, MilestoneOut, {}),
    (_E, "get", "事件的流调、响应节点、7-1-7 时效与闭环（密接身份默认脱敏）", None, EventFieldworkOut,
     {"query_model": EventQuery}),
    (f"{_E}/chain", "get", "事件传播链（病例→密接→病例；密接默认脱敏为“密接1”等编号）", None, ChainOut,
     {"query_model": EventQuery}),
    (f"{_P}/timeliness", "get", "本区 7-1-7 时效汇总（达标率、中位天数、瓶颈环节）", None, DistrictTimelinessOut,
     {"query_model": TimelinessQuery}),
    (f"{_E}/close", "post", "填写处置说明并结案", CloseBody, ReviewOut, {}),
    (f"{_E}/evaluation", "post", "事件评价（7-1-7 时效自动填入）", EvaluationBody, ReviewOut, {}),
    (f"{_E}/review", "post", "复核（须由评价人以外的另一角色进行）", ReviewBody, ReviewOut, {}),
    (f"{_E}/review.docx", "get", "导出已复核事件的复盘报告（Word）；未复核时 409 fieldwork.review_not_finished", None, None,
     {"response_content": {DOCX_MIME: {"schema": {"type": "string", "format": "binary"}}}}),
]
for _path, _method, _summary, _req, _resp, _opts in _ROUTES:
    register_operation(_path, _method, _summary, _req, _resp, TAGS, **_opts)
