"""The city's signed batch of investigations: each record accepted or refused as a whole, in request order.

A record is written inside a savepoint, so a refusal (bad field, unknown event, database constraint)
leaves nothing of it behind while the others are kept. `source_id` is required here: it makes a resent
batch idempotent.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.principal import Principal
from core.errors import DomainError
from fieldwork.intake import save_investigation
from fieldwork.models import InvestigationIn
from security.pii import FieldCipher
from store.records import SHARED_ZH, FieldError, RecordOutcome, field_error, parse

MAX_BATCH = 200
_ZH = {**SHARED_ZH, "id_number_format": "身份证号格式不正确", "id_number_checksum": "身份证号校验位错误",
       "time_order": "时间先后顺序不合理", "place_shape": "须提供点坐标或区域之一",
       "subject_missing": "须指明预警事件或病例", "status_mismatch": "完成时间与状态不一致",
       "duplicate_key": "编号在同一流调中重复",
       "case_without_became_case": "仅转为病例的密接可填写病例编号", "source_id.missing": "市级流调系统记录须带来源编号"}


class IntakeResult(BaseModel):
    """The outcome of every record of a batch, in request order."""

    accepted: int
    rejected: int
    results: list[RecordOutcome]


def _domain_error(exc: DomainError) -> FieldError:
    return FieldError(field=exc.field, code=exc.code, message=exc.message, message_zh=exc.message_zh)


def _one(session: Session, index: int, raw: Any, *, actor: Principal, district: str,
         cipher: FieldCipher | None) -> RecordOutcome:
    record, errors = parse(InvestigationIn, raw, _ZH)
    if record is not None and getattr(record, "source_id", None) is None:
        errors = [field_error("source_id", "source_id.missing", "source_id is required from the city", _ZH)]
    if record is None or errors:
        return RecordOutcome(index=index, status="rejected", errors=errors)
    assert isinstance(record, InvestigationIn)
    try:
        with session.begin_nested():
            inv, status = save_investigation(session, record, actor=actor, district=district, cipher=cipher)
    except DomainError as exc:
        return RecordOutcome(index=index, status="rejected", source_id=record.source_id, errors=[_domain_error(exc)])
    except IntegrityError:
        return RecordOutcome(index=index, status="rejected", source_id=record.source_id,
                             errors=[field_error(None, "db.rejected", "the database refused the record", _ZH)])
    return RecordOutcome(index=index, status=status, source_id=record.source_id, id=inv.id)


def intake_batch(session: Session, raws: list[Any], *, actor: Principal, district: str,
                 cipher: FieldCipher | None) -> IntakeResult:
    results = [_one(session, i, raw, actor=actor, district=district, cipher=cipher) for i, raw in enumerate(raws)]
    rejected = sum(1 for r in results if r.status == "rejected")
    return IntakeResult(accepted=len(results) - rejected, rejected=rejected, results=results)
