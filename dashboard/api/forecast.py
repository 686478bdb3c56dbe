"""`/api/v1/forecast/...`: Rt with a 14-day projection, and projected care burden per district, for map panels."""
from __future__ import annotations

from datetime import datetime

from alerting import forecasting
from alerting.schemas import BurdenOut, BurdenQuery, RtOut, RtQuery
from dashboard.api import bp
from dashboard.api.requests import caller, in_transaction, query_args, render
from dashboard.auth import require_principal
from dashboard.extensions import services
from dashboard.openapi import register_operation
from geo.dates import CST

TAGS = ("forecast 预测",)


def _today():
    return datetime.now(CST).date()


@bp.get("/forecast/rt")
@require_principal()
def forecast_rt():
    query, actor = query_args(RtQuery), caller()
    region = query.region or actor.district_code or services().settings.district_code
    return render(RtOut, in_transaction(lambda s: forecasting.rt_forecast(
        s, principal=actor, disease=query.disease, region=region, as_of=query.as_of or _today(), days=query.days,
        window=query.window)))


@bp.get("/forecast/burden")
@require_principal()
def forecast_burden():
    query, actor = query_args(BurdenQuery), caller()
    return render(BurdenOut, in_transaction(lambda s: forecasting.burden_forecast(
        s, principal=actor, disease=query.disease, as_of=query.as_of or _today(), days=query.days)))


register_operation("/api/v1/forecast/rt", "get", "实时再生数 Rt（Cori 法）与未来14天病例预测（95%区间）",
                   response_model=RtOut, query_model=RtQuery, tags=TAGS)
register_operation("/api/v1/forecast/burden", "get", "各区未来14天发热门诊就诊量与床位占用预测",
                   response_model=BurdenOut, query_model=BurdenQuery, tags=TAGS)
