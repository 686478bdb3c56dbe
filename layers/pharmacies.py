"""Sentinel-drug sales (pharmacy feed): pharmacies and streets with a sales index against their own baseline.

Index = 100 × (mean daily units in the period) / (mean daily units in the 28 days before it): 100 is
usual, 150 means half as much again. `drug_group` picks one group; default all three together.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import FeatureCollection, feature, feature_collection, parsed, point
from layers.base import Layer, LayerFilters, resolve_area
from layers.registry import register
from layers.schools import feed_area, feed_scope, feed_updated_at
from store import topics

GROUP_ZH = {"antipyretic": "退热药", "cough_cold": "止咳感冒药", "antidiarrhoeal": "止泻药"}
INDEX_CLASSES = ((90.0, "#4575b4"), (120.0, "#ffffbf"), (150.0, "#fdae61"), (float("inf"), "#d73027"))
BASELINE_DAYS = 28


def index_color(index: float | None) -> str:
    if index is None:
        return "#bdbdbd"
    return next(color for limit, color in INDEX_CLASSES if index < limit)


def _periods(filters: LayerFilters) -> dict[str, Any]:
    since, until = filters.period(default_days=7)
    return {"since": since, "until": until, "base_since": since - timedelta(days=BASELINE_DAYS),
            "days": (until - since).days + 1}


_SUMS = """sum(d.units) FILTER (WHERE d.day >= :since) AS units,
           sum(d.units) FILTER (WHERE d.day < :since) AS base_units,
           {by_group}"""


def _by_group() -> str:
    return ", ".join(f"sum(d.units) FILTER (WHERE d.day >= :since AND d.drug_group = '{g}') AS {g}" for g in GROUP_ZH)


def _index(units: int | None, base: int | None, days: int) -> float | None:
    if not base or units is None:
        return None
    return round(100 * (units / days) / (base / BASELINE_DAYS), 1)


def pharmacies_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Pharmacies with units sold by drug group in the period and their sales index."""
    p = _periods(filters)
    where, params = feed_area(session, principal, filters, "ph")
    rows = session.execute(text(f"""
        SELECT ph.id, ph.code, ph.name, ph.region_code, ph.district_code, ph.position_is_demo,
               ST_X(ph.geom) AS lon, ST_Y(ph.geom) AS lat, {_SUMS.format(by_group=_by_group())}
        FROM pharmacy ph LEFT JOIN drug_sales d ON d.pharmacy_id = ph.id AND d.day BETWEEN :base_since AND :until
        WHERE ph.geom IS NOT NULL AND {where} GROUP BY ph.id ORDER BY ph.code LIMIT :limit"""),
        {**params, **p, "limit": filters.limit}).all()
    features = []
    for r in rows:
        idx = _index(r.units, r.base_units, p["days"])
        features.append(feature(point(r.lon, r.lat), id=r.id, properties={
            "id": r.id, "code": r.code, "name": r.name, "region_code": r.region_code,
            "district_code": r.district_code, "position_is_demo": r.position_is_demo,
            "units": r.units, "sales_index": idx, "color": index_color(idx),
            **{g: getattr(r, g) for g in GROUP_ZH}, "layer": "pharmacies",
        }))
    return feature_collection(features, title="药店哨点药品销售", period=[p["since"].isoformat(), p["until"].isoformat()],
                              legend=_legend())


def streets_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Streets with all sentinel-drug units sold in them (pharmacies and street totals) and the sales index."""
    p = _periods(filters)
    where, params = feed_scope(principal, "r")
    if filters.region:
        area = resolve_area(session, principal, filters.region)
        where += " AND (r.code = :area OR r.district_code = :area)"
        params["area"] = area.code
    rows = session.execute(text(f"""
        SELECT r.code, r.name, r.district_code, ST_AsGeoJSON(ST_SimplifyPreserveTopology(r.geom, 0.0002), 6) AS g,
               {_SUMS.format(by_group=_by_group())}
        FROM region r JOIN drug_sales d ON d.region_code = r.code AND d.day BETWEEN :base_since AND :until
        WHERE r.level = 'street' AND {where} GROUP BY r.code ORDER BY r.code"""), {**params, **p}).all()
    features = []
    for r in rows:
        idx = _index(r.units, r.base_units, p["days"])
        features.append(feature(parsed(r.g), id=r.code, properties={
            "code": r.code, "name": r.name, "district_code": r.district_code,
            "units": r.units, "sales_index": idx, "color": index_color(idx),
            **{g: getattr(r, g) for g in GROUP_ZH}, "layer": "pharmacies.streets",
        }))
    return feature_collection(features, title="街道哨点药品销售指数", legend=_legend(),
                              period=[p["since"].isoformat(), p["until"].isoformat()])


def _legend() -> list[dict[str, Any]]:
    return [{"below": None if limit == float("inf") else limit, "color": c} for limit, c in INDEX_CLASSES]


register(Layer("pharmacies", "药店哨点药品销售", "Point", pharmacies_layer, feed_updated_at("drug_sales"),
               meta={"source_dept": "pharmacy"}, depends_on=(topics.feed("drug_sales"),)))
register(Layer("pharmacies.streets", "街道药品销售指数", "MultiPolygon", streets_layer, feed_updated_at("drug_sales"),
               meta={"source_dept": "pharmacy"}, depends_on=(topics.feed("drug_sales"),)))
