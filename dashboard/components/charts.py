"""What every dcc.Graph is given: Chinese axis dates and labels (plotly's zh-CN locale, served from assets/vendor)."""
from __future__ import annotations

from dash import dcc

GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "locale": "zh-CN"}
DATE_TICKS = "%m-%d"  # month-day on date axes; the year is in the period shown above each chart
