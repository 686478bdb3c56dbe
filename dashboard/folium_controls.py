"""Leaflet controls for folium maps: a metric-only scale and an attribution without Leaflet's prefix (flag icon)."""
from __future__ import annotations

from branca.element import MacroElement
from jinja2 import Template


class MetricScaleNoPrefix(MacroElement):
    """`L.control.scale({imperial: false})` and `attributionControl.setPrefix(false)` on the parent map,
    plus the data's own attribution (a constant, passed as JSON)."""

    def __init__(self, attribution: str | None = None) -> None:
        super().__init__()
        self._name = "MetricScaleNoPrefix"
        self.attribution = attribution

    _template = Template("""{% macro script(this, kwargs) %}
L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
if ({{ this._parent.get_name() }}.attributionControl) {
  {{ this._parent.get_name() }}.attributionControl.setPrefix(false);
  {%- if this.attribution %}
  {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.attribution|tojson }});
  {%- endif %}
}
{% endmacro %}""")
