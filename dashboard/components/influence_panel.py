"""影响因素分析 panel: the fitted effects of weather and absenteeism on a disease's daily cases."""
from __future__ import annotations

from typing import Any

from dash import html

FAMILY_ZH = {"poisson": "泊松回归", "negbin": "负二项回归"}


def influence_panel(result: dict[str, Any], *, panel_id: str = "influence-panel") -> html.Div:
    """Render the body of `GET /api/v1/feeds/influence` (or InfluenceResult.as_dict() plus disease_name)."""
    rows = []
    for c in result["coefficients"]:
        significant = c["p_value"] < 0.05
        rows.append(html.Tr([
            html.Td(c["name_zh"]), html.Td(f"{c['lag_days']}天"),
            html.Td(f"{c['rate_ratio']:.3f}"), html.Td(f"{c['rr_ci_low']:.3f}–{c['rr_ci_high']:.3f}"),
            html.Td(f"{c['p_value']:.3g}", className="sig" if significant else "ns"),
        ]))
    fit = result["fit"]
    summary = (f"{FAMILY_ZH.get(result['family'], result['family'])}，{result['n_days']}天，"
               f"偏差解释率 {fit['deviance_explained']:.1%}，AIC {fit['aic']:.0f}")
    return html.Div([
        html.H4(f"影响因素分析 · {result.get('disease_name', result.get('disease_code', ''))}"),
        html.Table([html.Thead(html.Tr([html.Th(h) for h in ("因素", "滞后", "RR/单位", "95%CI", "P值")])),
                    html.Tbody(rows)], className="influence-table"),
        html.Div(summary, className="influence-fit"),
        html.Div("RR：该因素每增加1个单位，预期病例数的倍数（已控制季节与星期效应）", className="influence-note"),
    ], className="influence-panel", id=panel_id)
