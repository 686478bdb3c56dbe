"""Public-opinion items (舆情) placed on the map by their place names, with the disease they mention."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from geo import beijing
from geo.dates import CST
from geo.geojson import Feature, FeatureCollection, feature, feature_collection, point
from layers.base import Layer, LayerFilters
from layers.registry import register
from layers.schools import feed_area, feed_updated_at
from store import topics


def opinion_layer(session: Session, principal: Principal, filters: LayerFilters) -> FeatureCollection:
    """Items published in the period (default 14 days) that could be placed; `unplaced` counts the others."""
    since, until = filters.period(default_days=14)
    where, params = feed_area(session, principal, filters, "o")
    params.update(start=datetime.combine(since, time(0), CST), end=datetime.combine(until + timedelta(days=1), time(0), CST),
                  limit=filters.limit)
    if filters.disease:
        where += " AND o.matched_disease_code = ANY(:diseases)"
        params["diseases"] = list(filters.disease)
    rows = session.execute(text(f"""
        SELECT o.id, o.published_at, o.source, o.title, o.excerpt, o.keywords, o.place_text, o.region_code,
               o.district_code, o.matched_disease_code, d.name AS disease_name, r.name AS region_name,
               ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat
        FROM opinion_item o LEFT JOIN disease d ON d.code = o.matched_disease_code
        LEFT JOIN region r ON r.code = o.region_code
        WHERE o.published_at >= :start AND o.published_at < :end AND {where}
        ORDER BY o.published_at DESC LIMIT :limit"""), params).all()
    features: list[Feature] = []
    unplaced = 0
    for r in rows:
        if r.lon is None:
            unplaced += 1
            continue
        features.append(feature(point(r.lon, r.lat), id=r.id, properties={
            "id": r.id, "published_at": beijing.iso(r.published_at), "source": r.source,
            "title": r.title, "excerpt": (r.excerpt or "")[:200],
            "keywords": list(r.keywords or []), "place_text": r.place_text,
            "region_code": r.region_code, "region_name": r.region_name,
            "district_code": r.district_code, "disease_code": r.matched_disease_code,
            "disease_name": r.disease_name, "alert": r.matched_disease_code is not None,
            "color": "#d73027" if r.matched_disease_code else "#737373",
            "layer": "opinion",
        }))
    return feature_collection(features, title="舆情监测", unplaced=unplaced,
                              period=[since.isoformat(), until.isoformat()])


register(Layer("opinion", "舆情监测", "Point", opinion_layer, feed_updated_at("opinion_item"),
               meta={"source_dept": "opinion"}, depends_on=(topics.feed("opinion_item"),)))
