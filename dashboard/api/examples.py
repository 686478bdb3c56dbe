"""An example request body for every documented operation that takes one (shown in /api/v1/openapi.json).

Dates and times are relative to the moment the document is built, so an example stays inside the
accepted date ranges on any calendar date. tests/security/test_openapi_examples.py validates each
example against its model.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from alerting.config import EventsCfg
from alerting.schemas import AssignRequest, CitySignalIn, TransitionRequest
from assist.models import AnswerBody, AssignBody, AssistCreate, AssistMessage, NoteBody, ReturnBody
from command.models import DecisionQuery, DispatchPlan, IncidentIn, MovementIn
from dashboard.api.embed import EmbedTicketRequest
from dashboard.api.identity import IdentityRequest
from dashboard.api.shapes import IngestBatchIn
from dispatch.models import (
    AcceptRequest,
    CancelRequest,
    FeedbackRequest,
    ReturnRequest,
    SplitRequest,
    TaskCreate,
)
from exchange.reference_schema import ReferenceBatchIn
from fieldwork.models import (
    CloseBody,
    ContactsIn,
    ContactStateBody,
    EvaluationBody,
    IntakeBatchIn,
    InvestigationIn,
    MilestoneBody,
    ReviewBody,
)
from geo.dates import CST, now_utc
from geo.geojson import point

Example = dict[str, Any]
_XINJING = point(121.3826, 31.2186)  # 新泾镇, Changning


def now_cst() -> datetime:
    return now_utc().astimezone(CST)


def _case_batch() -> Example:
    t = now_cst() - timedelta(hours=3)
    return {"records": [{
        "institution_code": "310105001", "record_id": "HIS-2024-000123", "disease_code": "0401",
        "onset_date": (t - timedelta(days=2)).date().isoformat(), "diagnosis_time": (t - timedelta(hours=2)).isoformat(),
        "report_time": t.isoformat(), "lon": 121.3826, "lat": 31.2186, "age": 34, "sex": "F",
        "patient": {"name": "张小明", "id_number": "11010519491231002X", "phone": "13812345678",
                    "address": "上海市长宁区某路1号"},
    }]}


def _task() -> Example:
    return {"city_task_id": "SH-CITY-20240101-0001", "title": "新泾镇聚集性疫情现场流调", "type": "epi", "priority": 1,
            "deadline": (now_cst() + timedelta(hours=24)).isoformat(timespec="seconds"), "district_code": "310105",
            "location": _XINJING, "description": "市级平台派单：3 日内同一小区报告 5 例手足口病"}


def _split() -> Example:
    deadline = (now_cst() + timedelta(hours=12)).isoformat(timespec="seconds")
    return {"subtasks": [
        {"title": "病例家庭流调", "type": "epi", "deadline": deadline, "assignee_team_id": 1},
        {"title": "环境采样", "type": "sampling", "deadline": deadline, "assignee_institution_id": 1},
    ]}


def _city_signal() -> Example:
    today = now_cst().date()
    return {"signal_id": "SH-SIG-000042", "district_code": "310105", "title": "市级预警：长宁区手足口病聚集",
            "region_code": "310105008", "disease_code": "0401", "description": "时空扫描统计量发现聚集",
            "observed": 9, "threshold": 4.2, "window_start": (today - timedelta(days=6)).isoformat(),
            "window_end": today.isoformat(), "issued_at": now_cst().isoformat(timespec="seconds")}


def _assist() -> Example:
    return {"to_district": "310104", "subject_kind": "contact", "reason": "密切接触者居住地在徐汇区，请协助核实",
            "facts": ["核实是否居住于所报地址", "核实近14天有无发热、咳嗽等症状"],
            "personal": {"name": "张三", "phone": "13800001234"}, "place_name": "徐汇区某小区",
            "place": {"lon": 121.4365, "lat": 31.1880},
            "deadline": (now_cst() + timedelta(hours=24)).isoformat(timespec="seconds")}


def _assist_message() -> Example:
    return {"message_id": "0" * 31 + "1", "kind": "state", "request_no": "XC-310105-20261201-0001",
            "from_district": "310105", "to_district": "310104", "origin": "310104",
            "at": (now_cst() - timedelta(minutes=5)).isoformat(timespec="seconds"), "actor": "徐汇区疾控 值班员",
            "state": "accepted", "note": "已受理"}


def _reference_batch() -> Example:
    changed = (now_cst() - timedelta(hours=1)).isoformat(timespec="seconds")
    return {"records": [{"code": "0401", "name": "手足口病", "class": "丙", "category": "intestinal",
                         "version": 3, "changed_at": changed}]}


def _contact() -> Example:
    return {"record_id": "MJ-0001", "degree": "close", "name": "李四", "id_number": "11010519491231002X",
            "phone": "13800001234", "last_exposure_date": (now_cst() - timedelta(days=2)).date().isoformat(),
            "lon": 121.4245, "lat": 31.2203, "crs": "GCJ02"}


def _investigation() -> Example:
    t = now_cst() - timedelta(hours=20)
    return {"source_id": "SH-LD-20261201-0001", "signal_id": 1, "investigator": "长宁区疾控 流调一组",
            "status": "in_progress", "started_at": t.isoformat(timespec="seconds"),
            "first_onset_date": (t - timedelta(days=4)).date().isoformat(),
            "places": [{"name": "新泾镇某幼儿园", "kind": "school", "lon": 121.3871, "lat": 31.2166, "crs": "GCJ02",
                        "start_time": (t - timedelta(days=3)).isoformat(timespec="seconds"),
                        "end_time": (t - timedelta(days=3, hours=-8)).isoformat(timespec="seconds")}],
            "contacts": [_contact()],
            "samples": [{"sample_no": "CN-20261201-001", "kind": "咽拭子", "subject": "密接 MJ-0001",
                         "taken_at": (t + timedelta(hours=2)).isoformat(timespec="seconds")}]}


def _milestone() -> Example:
    return {"kind": "control_measures", "done_at": (now_cst() - timedelta(hours=1)).isoformat(timespec="seconds"),
            "note": "涉疫班级停课，环境终末消毒完成"}


_EXAMPLES: dict[type[BaseModel], Callable[[], Example]] = {
    IntakeBatchIn: lambda: {"records": [_investigation()]},
    InvestigationIn: _investigation,
    ContactsIn: lambda: {"contacts": [_contact()]},
    ContactStateBody: lambda: {"to": "became_case", "case_id": 1,
                               "at": (now_cst() - timedelta(hours=2)).isoformat(timespec="seconds"),
                               "note": "医学观察期间发热，核酸阳性，已报告为病例"},
    MilestoneBody: _milestone,
    CloseBody: lambda: {"summary": "聚集性疫情已控制：14 名密接医学观察期满解除，无续发病例，涉疫场所终末消毒完成。"},
    EvaluationBody: lambda: {"effectiveness": "处置及时，未出现续发病例", "lessons": "幼儿园晨检漏报，需加强因病缺课追踪"},
    ReviewBody: lambda: {"verdict": "approved", "note": "评价属实，同意闭环"},
    AssistCreate: _assist,
    AssistMessage: _assist_message,
    NoteBody: lambda: {"note": "已受理，安排属地社区核实"},
    ReturnBody: lambda: {"reason": "所报地址不在本区，请核实后转普陀区"},
    AssignBody: lambda: {"assignee": "徐汇区疾控 流调二组", "note": "今日内完成"},
    AnswerBody: lambda: {"findings": "已核实：本人居住于所报地址，近14天无发热、咳嗽症状，已纳入健康监测。",
                         "attachments": [{"name": "核实记录.pdf", "size": 183204, "sha256": "a" * 64}]},
    ReferenceBatchIn: _reference_batch,
    IdentityRequest: lambda: {"purpose": "流行病学调查需联系病例本人"},
    DecisionQuery: lambda: {"lon": 121.3826, "lat": 31.2186, "k": 5, "radii_m": [500, 1000, 3000]},
    DispatchPlan: lambda: {"lon": 121.3826, "lat": 31.2186, "title": "新泾镇聚集性疫情处置", "type": "epi",
                           "priority": 1, "deadline_hours": 24, "team_ids": [1, 2],
                           "allocations": [{"site_id": 1, "item_code": "N95", "quantity": 200}]},
    IncidentIn: lambda: {"title": "新泾镇某小区手足口病聚集", "kind": "outbreak", "lon": 121.3826, "lat": 31.2186,
                         "radius_m": 500},
    MovementIn: lambda: {"site_id": 1, "item_code": "N95", "kind": "in", "quantity": 500, "note": "市级调拨"},
    TaskCreate: _task,
    AcceptRequest: lambda: {"note": "已签收，流调队 30 分钟内出发"},
    ReturnRequest: lambda: {"reason": "地址不在本区，请转普陀区"},
    CancelRequest: lambda: {"reason": "经核实为重复派单"},
    FeedbackRequest: lambda: {"status": "in_progress", "progress": 60, "note": "已完成 12 户入户调查",
                              "counts": {"visited": 12, "samples": 8}, "location": _XINJING},
    SplitRequest: _split,
    EmbedTicketRequest: lambda: {"page": "monitor", "region": "310105"},
    IngestBatchIn: _case_batch,
    CitySignalIn: _city_signal,
    AssignRequest: lambda: {"user_id": 7, "reason": "由值班流调医生核实"},
    TransitionRequest: lambda: {"to": "verifying", "reason": "开始核实：调取病例个案与流调记录"},
    EventsCfg: lambda: EventsCfg().model_dump(mode="json"),
}


def request_example(model: type[BaseModel]) -> Example | None:
    """The example body for `model`, or None when it has none."""
    make = _EXAMPLES.get(model)
    return make() if make is not None else None
