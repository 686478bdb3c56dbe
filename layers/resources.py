"""Resource sites with their stock lines, minimum levels and how many items are below the minimum."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.principal import Principal
from accounts.scope import scope_sql
from geo.geojson import FeatureCollection, feature, feature_collection, point
from layers.base import Layer, LayerFilters
from layers.registry import register
from store import topics

KIND_ZH = {"warehouse": "储备库", "hospital_store": "医院物资库", "chc_store": "社区物资点"}


def _scope(principal: Principal) -> tuple[str, dict[str, Any]]:
    return scope_sql(principal, "s.district_code", "s.institution_id")


def resources_geojson(session: Session, principal: Principal, filters: LayerFilters | None = None) -> FeatureCollection:
    """Each site as a point; `items` lists its stock with quantity, minimum and fill ratio."""
    where, params = _scope(principal)
    rows = session.execute(text(f"""
        SELECT s.id, s.code, s.name, s.kind, s.district_code, ST_X(s.geom), ST_Y(s.geom),
               COALESCE(json_agg(json_build_object(
                   'item_code', k.item_code, 'item_name', k.item_name, 'category', k.category, 'unit', k.unit,
                   'quantity', k.quantity, 'min_level', k.min_level, 'below_min', k.quantity < k.min_level)
                   ORDER BY k.quantity < k.min_level DESC, k.category, k.item_code)
                   FILTER (WHERE k.id IS NOT NULL), '[]')
        FROM resource_site s LEFT JOIN stock k ON k.site_id = s.id
        WHERE s.geom IS NOT NULL AND {where}
        GROUP BY s.id ORDER BY s.code"""), params).all()
    features = []
    for r in rows:
        items = [{**i, "quantity": float(i["quantity"]), "min_level": float(i["min_level"]),
                  "fill": float(i["quantity"]) / float(i["min_level"]) if float(i["min_level"]) > 0 else None}
                 for i in r[7]]
        features.append(feature(point(r[5], r[6], ndigits=None), id=r[0], properties={
            "id": r[0], "code": r[1], "name": r[2], "kind": r[3], "kind_zh": KIND_ZH.get(r[3], r[3]),
            "district_code": r[4], "items": items, "below_min": sum(1 for i in items if i["below_min"]),
        }))
    return feature_collection(features)


def _updated_at(session: Session, principal: Principal) -> datetime | None:
    where, params = _scope(principal)
    return session.execute(text(f"""SELECT MAX(k.updated_at) FROM stock k JOIN resource_site s ON s.id = k.site_id
        WHERE {where}"""), params).scalar()


register(Layer("resources", "应急物资储备点", "Point", resources_geojson, _updated_at, group="command",
               meta={"kinds": KIND_ZH}, depends_on=(topics.RESOURCES,)))
