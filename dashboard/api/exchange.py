"""`/api/v1/exchange/kpis`: the district ⇄ city exchange figures (success, timeliness, conformance) per day and direction."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.api import bp
from dashboard.api.requests import in_transaction, query_args, render
from dashboard.auth import require_principal
from dashboard.errors import ApiError
from dashboard.extensions import services
from dashboard.openapi import register_operation
from exchange import kpis
from exchange.models import MAX_DAYS, KpiAnswer, KpiQuery
from geo.dates import CST

ROLES = ("city_admin", "district_commander", "district_analyst")


@bp.get("/exchange/kpis")
@require_principal(*ROLES)
def exchange_kpis():
    query = query_args(KpiQuery)
    now = datetime.now(UTC)
    until = query.until or now.astimezone(CST).date()
    since = query.since or until - timedelta(days=6)
    if (until - since).days >= MAX_DAYS:
        raise ApiError(422, "exchange.period_too_long", f"since: the period is longer than {MAX_DAYS} days",
                       f"since：统计时段不能超过 {MAX_DAYS} 天", field="since")
    deadline = timedelta(hours=services().settings.exchange_deadline_hours)
    return render(KpiAnswer, in_transaction(
        lambda s: kpis.summary(s, since=since, until=until, deadline=deadline, now=now)))


register_operation("/api/v1/exchange/kpis", "get", "数据交换指标（成功率、及时率、规范率，按日）", response_model=KpiAnswer,
                   query_model=KpiQuery, tags=("exchange 数据交换",), auth=("bearer", "session"))
