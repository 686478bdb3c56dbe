"""传播链 card of 应急指挥一张图: the transmission chain (case → contact → case) of one warning event as a graph.

The event is picked from the district's events that have a 流调 (or given as `/command?event=<id>`, the link
on the signal page); the graph comes from fieldwork.chain (contacts masked as 密接1 … on this page: the
identities in clear are only served by the API, with a purpose, audited).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import dash_cytoscape as cyto
from dash import Dash, Input, Output, State, dcc, html, no_update

from accounts.principal import Principal
from alerting.schemas import STATE_ZH
from dashboard.api.command import district_of
from dashboard.extensions import services
from dashboard.pages.command_access import reader
from fieldwork.chain import KIND_ZH, build_chain
from fieldwork.chain_facts import chain_events, load_chain_facts
from fieldwork.errors import FieldworkError

COLORS = {"event": "#6a1b9a", "index_case": "#d32f2f", "contact": "#1976d2", "secondary_case": "#f57c00"}
SHAPES = {"event": "diamond", "index_case": "ellipse", "contact": "round-rectangle", "secondary_case": "ellipse"}
STYLESHEET: list[dict[str, Any]] = [
    {"selector": "node", "style": {"label": "data(label)", "font-size": "11px", "text-valign": "bottom",
                                   "text-margin-y": "4px", "width": "22px", "height": "22px", "color": "#1d2733"}},
    *({"selector": f".{kind}", "style": {"background-color": color, "shape": SHAPES[kind]}}
      for kind, color in COLORS.items()),
    {"selector": ".index_case.group", "style": {"width": "34px", "height": "34px", "font-weight": "bold"}},
    {"selector": ".contact.became_case", "style": {"border-width": "3px", "border-color": COLORS["secondary_case"]}},
    {"selector": "edge", "style": {"width": 2, "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
                                   "target-arrow-shape": "triangle", "curve-style": "bezier"}},
    {"selector": "edge.became_case", "style": {"line-color": COLORS["secondary_case"], "line-style": "dashed",
                                               "target-arrow-color": COLORS["secondary_case"]}},
    {"selector": "edge.evidence", "style": {"line-color": "#b39ddb", "target-arrow-color": "#b39ddb"}},
]


def event_options(principal: Principal) -> list[dict[str, Any]]:
    """The district's warning events that have a 流调, the latest first, as dropdown options."""
    with services().session_factory() as s:
        rows = chain_events(s, actor=principal, district=district_of(principal))
    return [{"label": f"#{sid} {title}（{STATE_ZH.get(state, state)}）", "value": sid} for sid, title, state in rows]


def card(principal: Principal, event: int | None) -> Any:
    """The card: the event picker, the graph, its legend and a one-line summary."""
    legend = [html.Span([html.I(className="cmd-chain-key", style={"background": color}), KIND_ZH[kind]],
                        className="cmd-chain-item") for kind, color in COLORS.items()]
    legend.append(html.Span("虚线：密接转为病例", className="cmd-chain-item"))
    return html.Section([
        html.H3("传播链"),
        dcc.Dropdown(id="cmd-chain-event", options=event_options(principal), value=event, placeholder="选择预警事件（有流调记录的）",
                     className="cmd-select wide"),
        html.P(id="cmd-chain-summary", className="cmd-msg", role="status"),
        html.Div(id="cmd-chain-body"),
        dcc.Store(id="cmd-chain-drawn"),
        html.Div(legend, className="cmd-chain-legend", id="cmd-chain-legend"),
    ], className="cmd-card cmd-chain-card", id="cmd-chain-card")


def graph(chain: dict[str, Any]) -> Any:
    """The graph of a chain. Mounted only while a chain is shown: Cytoscape redraws on every animation frame
    while it exists, which cost an idle /command screen about a sixth of a CPU core (Chromium trace)."""
    return cyto.Cytoscape(id="cmd-chain-graph", elements=elements(chain), stylesheet=STYLESHEET, minZoom=0.3,
                          maxZoom=3, layout=layout_for(chain), style={"width": "100%", "height": "360px"},
                          className="cmd-chain-graph")


def fingerprint(chain: dict[str, Any]) -> str:
    """What the graph shows, so that a refresh with the same chain leaves the drawn graph (and its layout) alone."""
    return hashlib.sha256(json.dumps(elements(chain), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


MAX_LEAF_CASES = 5  # more index cases without contacts of their own than this are drawn as one node


def grouped(chain: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The chain's nodes and edges with its leaf index cases (no contacts of their own) as one node 指示病例 N 例
    when there are more than MAX_LEAF_CASES: an event's evidence may hold dozens, which would crowd the chain."""
    sources = {e["source"] for e in chain["edges"]}
    leaves = {n["id"] for n in chain["nodes"] if n["kind"] == "index_case" and n["id"] not in sources}
    if len(leaves) <= MAX_LEAF_CASES:
        return chain["nodes"], chain["edges"]
    group = {"id": "index-cases", "kind": "index_case", "state": "group", "kind_zh": "指示病例",
             "label": f"指示病例 {len(leaves)} 例"}
    nodes = [*(n for n in chain["nodes"] if n["id"] not in leaves), group]
    edges = [*(e for e in chain["edges"] if e["target"] not in leaves),
             {"source": f"event-{chain['event_id']}", "target": group["id"], "kind": "evidence"}]
    return nodes, edges


def elements(chain: dict[str, Any]) -> list[dict[str, Any]]:
    """Cytoscape elements of a chain: nodes classed by kind (and a contact by its state), edges by kind."""
    nodes, edges = grouped(chain)
    return [*({"data": {"id": n["id"], "label": n["label"], "kind_zh": n["kind_zh"]},
               "classes": " ".join(filter(None, (n["kind"], n["state"])))} for n in nodes),
            *({"data": {"id": f"{e['source']}>{e['target']}", "source": e["source"], "target": e["target"]},
               "classes": e["kind"]} for e in edges)]


def summary(chain: dict[str, Any]) -> str:
    c = chain["counts"]
    return (f"{chain['title']}：指示病例 {c['index_cases']} 例，密切接触者 {c['contacts']} 人，"
            f"续发病例 {c['secondary_cases']} 例")


def layout_for(chain: dict[str, Any]) -> dict[str, Any]:
    return {"name": "breadthfirst", "directed": True, "spacingFactor": 1.1,
            "roots": f"[id = \"event-{chain['event_id']}\"]"}



def register(dash_app: Dash) -> None:
    @dash_app.callback(Output("cmd-chain-event", "options"), Input("cmd-poll", "n_intervals"),
                       Input("cmd-refresh", "data"), prevent_initial_call=True)
    def refresh_options(_tick: Any, _refresh: Any) -> list[dict[str, Any]]:
        return event_options(reader())

    @dash_app.callback(Output("cmd-chain-body", "children"), Output("cmd-chain-drawn", "data"),
                       Output("cmd-chain-summary", "children"), Input("cmd-chain-event", "value"),
                       Input("cmd-refresh", "data"), State("cmd-chain-drawn", "data"))
    def draw(event: int | None, _refresh: Any, drawn: str | None) -> tuple[Any, str | None, str]:
        principal = reader()
        if not event:
            return None, None, "选择一个预警事件查看其传播链（病例→密接→病例）。"
        try:
            with services().session_factory() as s:
                chain = build_chain(load_chain_facts(s, actor=principal, signal_id=int(event), cipher=None))
        except FieldworkError as exc:
            return None, None, exc.message_zh
        key = fingerprint(chain)
        return (no_update if key == drawn else graph(chain)), key, summary(chain)
