"""`/api/v1/forecast/...`: Rt with a 14-day projection, and projected care burden per district, for map panels."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import request

from alerting import forecasting
from alerting.schemas import BurdenOut, BurdenQuery, RtOut, RtQuery
from dashboard.api import bp
from dashboard.api.signals import _actor, _out, _run
from dashboard.auth import require_principal
from dashboard.extensions import services
from dashboard.openapi import register_operation

TAGS = ("forecast 预测",)
CST = timezone(timedelta(hours=8))


def _today():  # type: ignore[no-untyped-def]
    return datetime.now(CST).date()


@bp.get("/forecast/rt")
@require_principal()
def forecast_rt():  # type: ignore[no-untyped-def]
    query, actor = RtQuery.model_validate(request.args.to_dict()), _actor()
    region = query.region or actor.district_code or services().settings.district_code
    return _out(RtOut, _run(lambda s: forecasting.rt_forecast(
        s, principal=actor, disease=query.disease, region=region, as_of=query.as_of or _today(), days=query.days,
        window=query.window)))


@bp.get("/forecast/burden")
@require_principal()
def forecast_burden():  # type: ignore[no-untyped-def]
    query, actor = BurdenQuery.model_validate(request.args.to_dict()), _actor()
    return _out(BurdenOut, _run(lambda s: forecasting.burden_forecast(
        s, principal=actor, disease=query.disease, as_of=query.as_of or _today(), days=query.days)))


register_operation("/api/v1/forecast/rt", "get", "实时再生数 Rt（Cori 法）与未来14天病例预测（95%区间）",
                   response_model=RtOut, query_model=RtQuery, tags=TAGS)
register_operation("/api/v1/forecast/burden", "get", "各区未来14天发热门诊就诊量与床位占用预测",
                   response_model=BurdenOut, query_model=BurdenQuery, tags=TAGS)
