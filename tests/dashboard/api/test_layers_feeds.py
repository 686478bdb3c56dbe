"""The feed layers are in the catalogue with their freshness and answer GeoJSON in scope; the influence API."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feeds.schemas import DrugSalesIn, OpinionItemIn, SchoolAbsenceIn, WeatherDailyIn
from feeds.writers import write_feed

CST = timezone(timedelta(hours=8))
FEED_LAYERS = ("schools", "pharmacies", "pharmacies.streets", "opinion", "weather")


def _seed(services, w) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(CST).date()
    days = [today - timedelta(days=k) for k in range(1, 40)]
    school = [SchoolAbsenceIn(school_code=f"L{w.tag}", day=d, enrolled=300, absent=6, absent_ill=3, gastrointestinal=1,
                              school_name="图层小学", school_kind="primary", lon=119.16, lat=31.02) for d in days]
    sales = [DrugSalesIn(pharmacy_code=f"LP{w.tag}", pharmacy_name="图层药房", day=d, drug_group="antidiarrhoeal",
                         units=10 if d < today - timedelta(days=6) else 20, lon=119.12, lat=31.05) for d in days]
    weather = [WeatherDailyIn(district_code=w.district, day=d, temp_mean=10 + k % 3, humidity=60, rainfall_mm=k % 2 * 12)
               for k, d in enumerate(days)]
    noon = datetime.combine(days[0], datetime.min.time(), CST) + timedelta(hours=12)
    opinion = [OpinionItemIn(item_id=f"L{w.tag}", published_at=noon, source="论坛", title=f"{w.aliases[0]}出现{w.disease_name}"),
               OpinionItemIn(item_id=f"L{w.tag}x", published_at=noon, source="论坛", title="没有地名的帖子")]
    with services.session_factory() as s:
        for kind, recs in (("school_absence", school), ("drug_sales", sales), ("weather_daily", weather), ("opinion_item", opinion)):
            outcomes, _ = write_feed(s, kind=kind, records=list(enumerate(recs)))
            assert all(o.status != "rejected" for o in outcomes.values()), outcomes
        s.commit()


def test_feed_layers_in_catalogue_and_scoped(client, services, fworld):  # type: ignore[no-untyped-def]
    _seed(services, fworld)
    cat = client.get("/api/v1/layers", headers=fworld.auth("district")).get_json()["layers"]
    entries = {layer["id"]: layer for layer in cat}
    for lid in FEED_LAYERS:
        assert lid in entries and entries[lid]["updated_at"], lid
    got = {lid: client.get(f"/api/v1/layers/{lid}", headers=fworld.auth("district")).get_json() for lid in FEED_LAYERS}
    def mine(lid: str, code: str) -> dict:  # type: ignore[type-arg]
        return next(f["properties"] for f in got[lid]["features"] if f["properties"]["code"] == code)

    school = mine("schools", f"L{fworld.tag}")
    assert school["ill_rate_permille"] == 10.0 and school["days"] == 6 and school["region_code"] == fworld.streets[1]
    ph = mine("pharmacies", f"LP{fworld.tag}")
    # 6 days × 20 units in the 7-day period against 10 a day in the 28 days before it
    assert ph["antidiarrhoeal"] == 120 and ph["sales_index"] == round(100 * (120 / 7) / 10, 1)
    assert mine("pharmacies.streets", fworld.streets[0])["antidiarrhoeal"] >= 120
    op = got["opinion"]
    item = next(f["properties"] for f in op["features"] if f["properties"]["title"].startswith(fworld.aliases[0]))
    assert item["region_code"] == fworld.streets[0] and item["disease_code"] == fworld.disease
    # an item naming no place belongs to no district: only city roles see it (as unplaced)
    city = client.get("/api/v1/layers/opinion", headers=fworld.auth("city")).get_json()
    assert city["unplaced"] >= 1
    days = got["weather"]["features"][0]["properties"]["days"]
    assert len(days) == 6 and days[-1]["day"] == (datetime.now(CST).date() - timedelta(days=1)).isoformat()
    # another district sees none of it
    other = client.get("/api/v1/layers/schools", headers=fworld.auth("other")).get_json()
    assert all(f["properties"]["district_code"] != fworld.district for f in other["features"])


def test_weather_strip_and_influence_panel_render() -> None:
    from dashboard.components.influence_panel import influence_panel
    from dashboard.components.weather_strip import rain_label, weather_strip

    strip = weather_strip([{"day": "2026-11-20", "temp_mean": 12.0, "temp_max": 15.0, "temp_min": 9.0,
                            "humidity": 80.0, "rainfall_mm": 30.0}])
    assert "9~15℃" in str(strip) and "大雨" in str(strip) and rain_label(0.0) == "无雨"
    panel = influence_panel({"disease_name": "流行性感冒", "family": "negbin", "n_days": 900,
                             "fit": {"deviance_explained": 0.5, "aic": 1000.0},
                             "coefficients": [{"name_zh": "日均气温（℃）", "lag_days": 7, "rate_ratio": 0.96,
                                               "rr_ci_low": 0.95, "rr_ci_high": 0.97, "p_value": 1e-5}]})
    assert "负二项回归" in str(panel) and "0.960" in str(panel)


def test_influence_api_errors(client, fworld):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/feeds/influence?disease=bad%20code", headers=fworld.auth("district"))
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "disease"
    r = client.get("/api/v1/feeds/influence?disease=nosuch", headers=fworld.auth("district"))
    assert r.status_code == 404
    r = client.get(f"/api/v1/feeds/influence?disease={fworld.disease}&district={fworld.district}",
                   headers=fworld.auth("other"))
    assert r.status_code == 403
    r = client.get(f"/api/v1/feeds/influence?disease={fworld.disease}", headers=fworld.auth("district"))
    assert r.status_code == 422 and r.get_json()["error"]["code"].startswith("influence.")
