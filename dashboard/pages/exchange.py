"""数据交换: the district → city exchange figures for administrators and analysts (refreshed every 30 s)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboard.auth import current_principal
from dashboard.components.shell import EXCHANGE_ROLES
from dashboard.extensions import services
from dashboard.pages import exchange_view as view
from exchange import kpis
from geo.dates import CST

PATH = "/exchange"
TITLE = "数据交换"
PERIODS = {"1": "今日", "7": "近7天", "30": "近30天"}


def _id(name: str) -> str:
    return f"exch-{name}"


def layout(query: dict[str, str]) -> Any:
    return html.Div([
        html.H1(TITLE),
        html.P("区级平台向市级平台上报业务数据的情况：成功率、及时率、规范率（任务清单 8.2）。", className="exch-hint"),
        dcc.RadioItems(id=_id("days"), options=[{"label": v, "value": k} for k, v in PERIODS.items()],
                       value=query.get("days") if query.get("days") in PERIODS else "7", inline=True,
                       className="exch-period"),
        html.Div(id=_id("body")),
        dcc.Interval(id=_id("tick"), interval=30_000),
    ], className="page page-exchange")


def register(dash_app: Dash) -> None:
    @dash_app.callback(Output(_id("body"), "children"), Input(_id("days"), "value"), Input(_id("tick"), "n_intervals"))
    def refresh(days: str | None, _: Any) -> Any:
        actor = current_principal()
        if actor is None or actor.role not in EXCHANGE_ROLES:
            return html.P("当前角色无权查看数据交换情况", className="bad")
        now = datetime.now(UTC)
        until = now.astimezone(CST).date()
        deadline = timedelta(hours=services().settings.exchange_deadline_hours)
        with services().session_factory() as s:
            answer = kpis.summary(s, since=until - timedelta(days=int(days or "7") - 1), until=until,
                                  deadline=deadline, now=now)
            refused = kpis.recent_refusals(s)
        return view.body(answer, refused, now)
