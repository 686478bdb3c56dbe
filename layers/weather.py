"""Weather of the districts (meteorological feed): the latest day on the map and a daily strip per district."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo.geojson import FeatureCollection, feature, feature_collection, point
from layers.base import Layer, LayerFilters, resolve_area
from layers.registry import register
from layers.schools import feed_scope, feed_updated_at
from store import topics

FIELDS = ("temp_mean", "temp_max", "temp_min", "humidity", "rainfall_mm")


def weather_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """One point per district (its label point) with the period's daily weather, newest last (default 7 days)."""
    since, until = filters.period(default_days=7)
    where, params = feed_scope(principal, "w")
    if filters.region:
        area = resolve_area(session, principal, filters.region)
        if area.district_code:
            where += " AND w.district_code = :area"
            params["area"] = area.district_code
    rows = session.execute(text(f"""
        SELECT w.district_code, r.name, ST_X(r.label_point) AS lon, ST_Y(r.label_point) AS lat, w.day,
               {', '.join(f'w.{f}' for f in FIELDS)}
        FROM weather_daily w JOIN region r ON r.code = w.district_code
        WHERE w.day BETWEEN :since AND :until AND {where} ORDER BY w.district_code, w.day"""),
        {**params, "since": since, "until": until}).all()
    by_district: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_district[r.district_code].append(r)
    features = []
    for code, days in by_district.items():
        last = days[-1]
        if last.lon is None:
            continue
        series = [{"day": d.day.isoformat(), **{f: getattr(d, f) for f in FIELDS}} for d in days]
        features.append(feature(point(last.lon, last.lat), id=code, properties={
            "district_code": code, "name": last.name, "day": last.day.isoformat(),
            **{f: getattr(last, f) for f in FIELDS}, "days": series,
            "layer": "weather",
        }))
    return feature_collection(features, title="气象", period=[since.isoformat(), until.isoformat()])


register(Layer("weather", "气象", "Point", weather_layer, feed_updated_at("weather_daily"),
               meta={"source_dept": "meteorology"}, depends_on=(topics.feed("weather_daily"),)))
