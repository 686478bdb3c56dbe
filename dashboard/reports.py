"""Printable briefing `/reports/briefing?date=…&period=day|week`: folium map, charts, KPIs, QC and signals.

Everything is served by us: folium's CDN defaults are replaced by our copy of Leaflet (assets/vendor),
and the map's inline script is moved to a short-lived same-origin file so the strict CSP holds.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import folium
from flask import Blueprint, Response, abort, render_template_string, request, send_file
from pydantic import BaseModel, ConfigDict, ValidationError

from accounts.scope import ScopeError
from dashboard import briefing_fieldwork, form_errors, markup
from dashboard.audit_trail import audit_denied, audit_read
from dashboard.auth import auth_method, current_principal, web_session
from dashboard.basemap import current_basemap
from dashboard.components.shell import shell_header
from dashboard.extensions import services
from dashboard.folium_controls import MetricScaleNoPrefix
from geo import beijing, dates
from geo.dates import QueryDate
from geo.geojson import FeatureCollection
from layers import briefing as figures
from layers import indicators
from layers.base import LayerError, LayerFilters, resolve_area, today_cst
from layers.incidence import incidence_layer
from layers.signals import signals_layer
from security.sm3 import sm3_hex

bp = Blueprint("reports", __name__)
VENDOR = Path(__file__).resolve().parent.parent / "assets" / "vendor"
VENDOR_FILES = {"leaflet.js": ("leaflet/leaflet.js.src", "text/javascript"),
                "leaflet.css": ("leaflet/leaflet.css.src", "text/css")}
SCRIPT_TTL = 900
PALETTE = ("#e4572e", "#f3a712", "#29335c", "#669bbc", "#a8c686", "#9e9e9e")


class BriefingQuery(BaseModel):
    """Query of the briefing page."""

    model_config = ConfigDict(extra="ignore")
    date: QueryDate | None = None
    period: Literal["day", "week"] = "day"
    region: str | None = None
    disease: str | None = None


def _script_key(token: str) -> str:
    """The map script's Redis key: the token and the viewer that rendered it (another viewer finds nothing)."""
    return f"{services().settings.redis_namespace}:briefing-js:{token}:{_viewer()}"


def _viewer() -> str:
    """SM3 of who is asking: the browser session (sid), else the bearer / signed caller."""
    ws = web_session() if auth_method() == "session" else None
    principal = current_principal()
    who = f"session:{ws.sid}" if ws else f"{auth_method()}:{principal.user_id if principal else '-'}"
    return sm3_hex(who.encode())[:32]


def folium_parts(m: folium.Map) -> tuple[str, str, str]:
    """(head, body, script) of a rendered folium map, inline scripts moved out into `script`."""
    m.default_js = [("leaflet", "/reports/vendor/leaflet.js")]
    m.default_css = [("leaflet_css", "/reports/vendor/leaflet.css")]
    page = m.get_root().render()
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    page = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    head = re.search(r"<head>(.*?)</head>", page, flags=re.S)
    body = re.search(r"<body>(.*?)</body>", page, flags=re.S)
    return (head.group(1) if head else ""), (body.group(1) if body else ""), "\n;\n".join(scripts)


# Stored text reaches folium's script only as JSON data (feature properties, icon options): folium.Tooltip
# and GeoJsonTooltip paste their text into JS template literals and innerHTML unescaped (issue #14, finding 5).
_TOOLTIP = ["tooltip"]


def _with_tooltips(fc: FeatureCollection, fmt: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    features = [{**f, "properties": {**f["properties"], "tooltip": fmt(f["properties"])}} for f in fc["features"]]
    return {**fc, "features": features}


def _choro_tooltip(p: dict[str, Any]) -> str:
    rate = figures.fmt_rate(p.get("rate"))
    return markup.tooltip(p["name"], f"病例 {p['cases']}", f"发病率 {rate}/10万")


def _map(choro: FeatureCollection, signals: FeatureCollection) -> folium.Map:
    m = folium.Map(tiles=None, zoom_control=False, control_scale=False, prefer_canvas=True, attribution_control=True)
    MetricScaleNoPrefix("© OpenStreetMap contributors, geoBoundaries").add_to(m)  # metres only, no Leaflet prefix
    _basemap(m)
    folium.GeoJson(
        _with_tooltips(choro, _choro_tooltip), name="发病率", attr="© OpenStreetMap contributors, geoBoundaries",
        style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#5b6b7c", "weight": 1,
                                  "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(fields=_TOOLTIP, labels=False),
    ).add_to(m)
    for f in choro["features"]:
        lon, lat = f["properties"]["label"]
        if choro.get("level") != "grid":
            folium.Marker([lat, lon], icon=folium.DivIcon(
                html=markup.block(f["properties"]["name"], cls="map-label"))).add_to(m)
    if signals["features"]:
        folium.GeoJson(
            _with_tooltips(signals, lambda p: markup.tooltip(p.get("grade_zh") or None, p["title"])), name="预警信号",
            marker=folium.CircleMarker(radius=9, color="#fff", weight=2, fill=True, fill_color="#ff1744",
                                       fill_opacity=1),
            tooltip=folium.GeoJsonTooltip(fields=_TOOLTIP, labels=False),
        ).add_to(m)
    xs: list[float] = []
    ys: list[float] = []
    for f in choro["features"]:
        if f["geometry"] is not None:  # every area has one; GeoJSON allows a feature without
            _coords(f["geometry"]["coordinates"], xs, ys)
    if xs:
        m.fit_bounds([[min(ys), min(xs)], [max(ys), max(xs)]])
    return m


def _basemap(m: folium.Map) -> None:
    """The configured basemap (BASEMAP_FILE via /basemap/…, or BASEMAP_URL) under the choropleth."""
    basemap = current_basemap()
    if basemap is None:
        return
    # Any: most of these reach TileLayer's untyped **kwargs, and a None must not override its defaults.
    options: dict[str, Any] = {k: v for k, v in (("min_native_zoom", basemap.min_native_zoom), ("max_native_zoom", basemap.max_native_zoom),
                                 ("bounds", basemap.bounds)) if v is not None}
    folium.TileLayer(tiles=basemap.url, attr=basemap.attribution or " ", name="底图", max_zoom=basemap.max_zoom,
                     control=False, **options).add_to(m)


def _coords(c: Any, xs: list[float], ys: list[float]) -> None:
    if c and isinstance(c[0], (int, float)):
        xs.append(c[0])
        ys.append(c[1])
    else:
        for x in c:
            _coords(x, xs, ys)


def epicurve_svg(e: dict[str, Any], *, width: int = 680, height: int = 220) -> str:
    """A stacked bar chart of the epidemic curve as inline SVG (prints crisply, needs no script)."""
    days, traces = e["days"], e["traces"]
    totals = [sum(t["counts"][i] for t in traces) for i in range(len(days))]
    peak = max(totals or [0]) or 1
    left, bottom, top = 40, 28, 10
    bw = (width - left - 10) / max(len(days), 1)
    parts = [markup.fragment('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" class="chart" role="img" '
                             'aria-label="流行曲线">', width, height)]
    for frac in (0, 0.5, 1):
        y = height - bottom - frac * (height - bottom - top)
        parts.append(markup.fragment('<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                                     '<text x="{t}" y="{ty:.1f}" text-anchor="end" font-size="10">{v}</text>',
                                     l=left, r=width - 10, y=y, t=left - 4, ty=y + 4, v=round(peak * frac)))
    for i, _ in enumerate(days):
        base = 0
        for k, t in enumerate(traces):
            v = t["counts"][i]
            if not v:
                continue
            h = v / peak * (height - bottom - top)
            y = height - bottom - base - h
            parts.append(markup.fragment('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>',
                                         left + i * bw + 0.5, y, max(bw - 1, 0.5), h, PALETTE[k % len(PALETTE)]))
            base += h
    step = max(1, len(days) // 7)
    for i in range(0, len(days), step):
        parts.append(markup.fragment('<text x="{:.1f}" y="{}" font-size="10">{}</text>',
                                     left + i * bw, height - 10, days[i][5:]))
    parts.append(markup.fragment("</svg>"))
    legend = markup.join(markup.fragment('<span class="lg"><i style="background:{}"></i>{}</span>',
                                         PALETTE[k % len(PALETTE)], t["name"]) for k, t in enumerate(traces))
    return str(markup.join(parts) + markup.fragment('<div class="legend">{}</div>', legend))


_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="/assets/shell.css">
{{ map_head|safe }}
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1d2733;margin:0;background:#eef1f5}
main{max-width:900px;margin:16px auto;background:#fff;padding:24px 32px}
h1{font-size:22px;margin:0 0 4px;text-align:center} .sub{text-align:center;color:#5f6b7a;margin:0 0 16px}
h2{font-size:16px;border-left:4px solid #1565c0;padding-left:8px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{border:1px solid #cfd8e3;padding:4px 6px;text-align:center}
th{background:#f1f5f9} .kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:8px}
.kpi{border:1px solid #cfd8e3;padding:8px;text-align:center} .kpi b{display:block;font-size:22px}
.mapbox{height:420px;border:1px solid #cfd8e3;position:relative} .mapbox .folium-map{height:420px!important}
.map-label{font-size:11px;font-weight:600;white-space:nowrap;text-shadow:0 0 3px #fff}
.chart{width:100%;height:auto} .legend{font-size:12px} .lg{margin-right:12px}
.lg i{display:inline-block;width:10px;height:10px;margin-right:4px}
.maplegend{font-size:12px;margin-top:4px}
.maplegend i{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px;border:1px solid #999}
.toolbar{text-align:right} .note{font-size:12px;color:#5f6b7a} .summary{margin:4px 0;line-height:1.8;text-indent:2em}
@media print{body{background:#fff} main{margin:0;max-width:none;padding:0} .toolbar{display:none} h2{break-after:avoid}
 .mapbox,.chart,table{break-inside:avoid}}
</style></head><body>{{ shell }}<main>
<p class="toolbar"><a href="/monitor">返回一张图</a> · <a id="b-docx"
href="{{ docx_url }}">下载 Word 文档</a> · 使用浏览器“打印”可保存为 PDF</p>
<h1>{{ title }}</h1><p class="sub">{{ area }} · 统计期 {{ since }} 至 {{ until }} · 生成于 {{ generated }}</p>
<h2>摘要</h2><div id="b-summary">{% for p in summary %}<p class="summary">{{ p }}</p>{% endfor %}</div>
<h2>一、病例报告概况</h2><div class="kpis">
<div class="kpi">{{ words.this }}报告<b id="b-today">{{ fig.cases }}</b>同比 {{ yoy(fig.yoy_pct) }}</div>
<div class="kpi">{{ words.previous }}报告<b id="b-previous">{{ fig.previous }}</b>环比 {{ yoy(fig.change_pct) }}</div>
<div class="kpi">近28天<b id="b-days28">{{ k.days28.cases }}</b>同比 {{ yoy(k.days28.yoy_pct) }}</div>
<div class="kpi">活动预警信号<b id="b-signals">{{ k.signals.values()|sum }}</b>待核实 {{ k.signals.new + k.signals.verifying }}</div></div>
<h2>二、发病率分布（{{ choro.level_zh }}，每10万，按发病日期）</h2>
<div class="mapbox">{{ map_body|safe }}</div>
<div class="maplegend">{% for i in choro.legend %}<i style="background:{{ i.color }}"></i>{{ i.label }}{% endfor %}
 · 分级：自然断点法 · 合计 {{ choro.totals.cases }} 例 · © OpenStreetMap contributors, geoBoundaries</div>
<h2>三、流行曲线（按发病日期）</h2>{{ curve|safe }}
<h2>四、主要病种</h2><table><tr><th>序号</th><th>病种</th><th>类别</th><th>病例数</th><th>发病率（/10万）</th></tr>
{% for r in top %}<tr><td>{{ loop.index }}</td><td>{{ r.name }}</td><td>{{ r.klass }}</td><td>{{ r.cases }}</td>
<td>{{ rate(r.rate) }}</td></tr>{% else %}<tr><td colspan="5">期间内无病例</td></tr>{% endfor %}</table>
<h2>五、报告质量</h2><table><tr>{% for key, label in qc_labels %}<th title="{{ q.definitions[key] }}">{{ label }}</th>{% endfor %}</tr>
<tr>{% for key, label in qc_labels %}<td>{{ rate(q['values'][key]) }}</td>{% endfor %}</tr></table>
<p class="note">{% for key, label in qc_labels %}{{ q.definitions[key] }}；{% endfor %}</p>
<h2>六、预警事件</h2><table><tr><th>等级</th><th>事件</th><th>模型</th><th>状态</th><th>观测/阈值</th><th>最近触发</th></tr>
{% for s in signals %}<tr><td>{% if s.grade_zh %}<span class="grade-badge grade-{{ s.grade }}"
style="background:{{ s.grade_color }};color:{{ s.grade_text_color }};padding:0 6px;border-radius:3px"
>{{ s.grade_zh }}</span>{% endif %}</td>
<td>{{ s.title }}</td><td>{{ s.model_zh }}</td><td>{{ s.state_zh }}</td>
<td>{{ num(s.observed) }} / {{ num(s.threshold) }}</td>
<td>{{ when(s.last_fired_at) }}</td></tr>{% else %}<tr><td colspan="6">统计期内无活动预警事件</td></tr>{% endfor %}</table>
{% if fw %}<h2>七、{{ fw_title }}</h2><div id="b-717"><p class="summary" id="b-717-headline">{{ fw_headline }}</p>
<table><tr>{% for h in fw_step_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in fw_steps %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
{% for caption, rows in fw_events %}<p class="note">{{ caption }}</p><table id="b-717-{{ loop.index }}">
<tr>{% for h in fw_event_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>{% else %}<tr><td colspan="6">无</td></tr>{% endfor %}
</table>{% endfor %}
<p class="note">7-1-7：发生→发现 ≤7天，发现→报告 ≤1天，报告→早期响应完成 ≤7天；按北京时间日历日计算。</p></div>{% endif %}
</main>{% if script_url %}<script src="{{ script_url }}"></script>{% endif %}</body></html>"""

QC_LABELS = (("incidence", "报告发病率(/10万)"), ("death_rate", "死亡率(/10万)"), ("cfr", "病死率(%)"),
             ("report_timeliness", "报告及时率(%)"), ("audit_timeliness", "审核及时率(%)"), ("completeness", "完整率(%)"))


def _yoy(pct: float | None) -> str:
    return "—" if pct is None else f"{pct:+.1f}%"


def _docx_url() -> str:
    """The Word download of the same briefing (same query)."""
    query = urlencode({k: v for k, v in request.args.items() if k in BriefingQuery.model_fields})
    return f"/reports/briefing.docx?{query}" if query else "/reports/briefing.docx"


def _fieldwork(section: dict[str, Any] | None) -> dict[str, Any]:
    """The template's 7-1-7 section (absent when the viewer's district is out of scope)."""
    if section is None:
        return {"fw": None}
    return {"fw": section, "fw_title": briefing_fieldwork.TITLE, "fw_headline": briefing_fieldwork.headline(section),
            "fw_step_header": briefing_fieldwork.STEP_HEADER, "fw_steps": briefing_fieldwork.step_rows(section),
            "fw_event_header": briefing_fieldwork.EVENT_HEADER,
            "fw_events": briefing_fieldwork.event_tables(section)}


def _error(status: int, message: str) -> Response:
    return Response(str(markup.fragment('<!doctype html><meta charset="utf-8"><p role="alert">{}</p>', message)),
                    status, mimetype="text/html")


@bp.get("/reports/briefing")
def briefing() -> Any:
    principal = current_principal()
    if principal is None:
        abort(401)
    try:
        q = BriefingQuery.model_validate(request.args.to_dict())
        end = q.date or today_cst()
        since = end if q.period == "day" else end - timedelta(days=6)
        filters = LayerFilters(since=since, until=end, region=q.region, disease=q.disease)
    except ValidationError as exc:
        return _error(422, form_errors.describe(exc).replace("输入有误", "参数不合法", 1))
    svc = services()
    try:
        with svc.session_factory() as session:
            area = resolve_area(session, principal, filters.region)
            choro = incidence_layer(session, principal, filters)
            sig = signals_layer(session, principal, filters)
            ctx = dict(curve=epicurve_svg(indicators.epicurve(session, principal, filters)),
                       **figures.collect(session, principal, filters, q.period, sig["features"]),
                       **_fieldwork(briefing_fieldwork.collect(session, principal, since, end)))
    except ScopeError as exc:
        audit_denied(principal, "scope.denied", object_type="briefing", object_id=request.path,
                     detail={"query": request.args.to_dict(), "reason": str(exc)})
        return _error(403, "超出当前账号的数据范围")
    except LayerError as exc:
        return _error(exc.status, exc.message_zh)
    audit_read(principal, "case.read", object_type="briefing", object_id=q.period,
               filters={"since": since.isoformat(), "until": end.isoformat(), "region": q.region, "disease": q.disease})
    head, body, script = folium_parts(_map(choro, sig))
    token = secrets.token_urlsafe(16)
    svc.redis.set(_script_key(token), script.encode(), ex=SCRIPT_TTL)
    return render_template_string(
        _PAGE, shell=shell_header("briefing"), title=figures.title(area.name, q.period, end), area=area.name, since=since, until=end,
        generated=beijing.minute(dates.now_utc()), when=beijing.minute, choro=choro, map_head=head, map_body=body,
        script_url=f"/reports/briefing/map-{token}.js", yoy=_yoy, qc_labels=QC_LABELS,
        rate=figures.fmt_rate, num=figures.fmt_number, docx_url=_docx_url(), **ctx)


@bp.get("/reports/briefing/map-<token>.js")
def briefing_script(token: str) -> Any:
    if current_principal() is None or not re.fullmatch(r"[A-Za-z0-9_\-]{10,40}", token):
        abort(404)
    script = services().redis.get(_script_key(token))
    if script is None:
        abort(404)
    return Response(script, mimetype="text/javascript", headers={"Cache-Control": "no-store"})


@bp.get("/reports/vendor/<path:name>")
def vendor(name: str) -> Any:
    """Leaflet for the briefing (css images are under images/)."""
    if name in VENDOR_FILES:
        path, mimetype = VENDOR_FILES[name]
        return send_file(VENDOR / path, mimetype=mimetype, max_age=86400)
    if re.fullmatch(r"images/[a-z0-9\-]+\.png", name) and (VENDOR / "leaflet" / name).is_file():
        return send_file(VENDOR / "leaflet" / name, mimetype="image/png", max_age=86400)
    abort(404)
