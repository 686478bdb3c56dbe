/* 监测预警一张图: Leaflet styling functions for dash-leaflet and the live-update glue (no outside requests). */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  // Text into HTML only through the shared escaper (assets/markup.js; looked up at call time).
  function esc(s) { return window.onemap.markup.text(s); }

  var icons = {};
  function icon(file) {
    if (!icons[file]) {
      var size = Math.round(26 * window.onemap.screenScale());  // 52 px on a 4K wall (assets/screen_scale.js)
      icons[file] = L.icon({iconUrl: "/assets/icons/" + file, iconSize: [size, size],
                            iconAnchor: [size / 2, size / 2], tooltipAnchor: [size / 2, 0]});
    }
    return icons[file];
  }

  /* ---- clicks on overlay shapes reach the region under them (issue #15, item 1) ---- */
  // Even-odd test over every ring of a (multi)polygon layer: holes and islands need no special case.
  function ringsOf(latlngs, out) {
    if (latlngs.length && latlngs[0] && typeof latlngs[0].lat === "number") { out.push(latlngs); return out; }
    latlngs.forEach(function (part) { ringsOf(part, out); });
    return out;
  }

  function containsLatLng(layer, latlng) {
    if (!layer.getLatLngs || !layer.getBounds().contains(latlng)) { return false; }
    var inside = false, x = latlng.lng, y = latlng.lat;
    ringsOf(layer.getLatLngs(), []).forEach(function (ring) {
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var a = ring[i], b = ring[j];
        if ((a.lat > y) !== (b.lat > y) && x < (b.lng - a.lng) * (y - a.lat) / (b.lat - a.lat) + a.lng) {
          inside = !inside;
        }
      }
    });
    return inside;
  }

  /* The choropleth region at a point, as the region layer itself received the click (→ its clickData). */
  function routeClick(e) {
    var map = e.target && e.target._map;
    var hit = null;
    if (!map) { return; }
    map.eachLayer(function (l) { if (!hit && l.onemapRegion && containsLatLng(l, e.latlng)) { hit = l; } });
    if (hit) {
      hit.fire("click", {latlng: e.latlng, layerPoint: e.layerPoint, containerPoint: e.containerPoint,
                         originalEvent: e.originalEvent}, true);
    }
  }

  function bindTooltip(feature, layer) {
    if (feature.properties && feature.properties.tooltip) { layer.bindTooltip(feature.properties.tooltip); }
  }

  /* ---- the layer switcher's state: the session store mon-overlays is the truth (issue #15, item 2) ---- */
  // {overlay name: shown} for every overlay the user switched; mirrors the store (see applyOverlays below).
  var overlayState = {};

  /* Map event overlayadd / overlayremove: remember the user's choice in the store. */
  function overlayToggled(e) {
    mapSeen(e);
    if (!e || !e.name || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    if (!document.getElementById("mon-page")) { return; }
    var shown = e.type === "overlayadd";
    if (overlayState[e.name] === shown) { return; }
    overlayState = Object.assign({}, overlayState);
    overlayState[e.name] = shown;
    window.dash_clientside.set_props("mon-overlays", {data: overlayState});
  }

  var leafletMap = null;  // the monitor's map, once it moved or a region or overlay was drawn on it
  function mapSeen(e) { if (e && e.target && e.target.latLngToContainerPoint) { leafletMap = e.target; } }

  window.onemap.map = {
    regionFeature: function (feature, layer) {  // onEachFeature of the choropleth
      layer.onemapRegion = true;
      layer.on("add", function () { leafletMap = layer._map; });
      bindTooltip(feature, layer);
    },
    leafletMap: function () { return leafletMap; },
    mapSeen: mapSeen,
    overlayFeature: function (feature, layer) {  // onEachFeature of area overlays: hover shows, a click drills down
      bindTooltip(feature, layer);
      layer.on("click", routeClick);
    },
    overlayToggled: overlayToggled,
    choroplethStyle: function (feature) {
      return {fillColor: feature.properties.color, color: "#5b6b7c", weight: 1, fillOpacity: 0.72, opacity: 0.9};
    },
    hoverStyle: function () {
      return {weight: 3, color: "#1f3b57"};
    },
    clusterStyle: function () {
      return {color: "#ff1744", weight: 3, dashArray: "6 4", fillColor: "#ff1744", fillOpacity: 0.15};
    },
    labelPoint: function (feature, latlng) {  // above the case clusters, so no marker hides a region's name
      return L.marker(latlng, {interactive: false, keyboard: false, zIndexOffset: 10000,
        icon: L.divIcon({className: "region-label", html: esc(feature.properties.name), iconSize: null})});
    },
    institutionPoint: function (feature, latlng) {
      return L.marker(latlng, {icon: icon(feature.properties.icon), title: feature.properties.name,
                               alt: feature.properties.name, riseOnHover: true});
    },
    feedPoint: function (feature, latlng) {
      // Other departments' feeds: a square-ish marker coloured by the layer's own class (rate, index, alert).
      var p = feature.properties;
      return L.circleMarker(latlng, {radius: p.layer === "opinion" ? 7 : 6, color: "#263238", weight: 1,
                                     fillColor: p.color || "#78909c", fillOpacity: 0.9});
    },
    casePoint: function (feature, latlng) {
      return L.circleMarker(latlng, {radius: 5, color: "#7f0000", weight: 1, fillColor: "#e53935", fillOpacity: 0.9,
                                     className: "case-point"});
    },
    liveCasePoint: function (feature, latlng) {
      var m = L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 2, fillColor: "#ff6d00", fillOpacity: 1,
                                      className: "live-case"});
      // The case id on the drawn element: the live-latency benchmark sees which case became visible.
      m.on("add", function () { if (m.getElement()) { m.getElement().setAttribute("data-case-id", String(feature.id)); } });
      return m;
    },
    signalPoint: function (feature, latlng) {
      return L.marker(latlng, {icon: icon("signal.svg"), zIndexOffset: 1000, title: feature.properties.title,
                               alt: feature.properties.title});
    },
    clusterPoint: function (feature, latlng, index) {
      var n = feature.properties.point_count;
      // grows with the screen like the text (assets/screen_scale.js): the count stays inside its disc on a 4K wall
      var size = Math.round((n < 10 ? 30 : n < 100 ? 38 : n < 1000 ? 46 : 54) * Math.max(1, 0.75 * window.onemap.screenScale()));
      return L.marker(latlng, {icon: L.divIcon({
        html: "<div><span>" + esc(feature.properties.point_count_abbreviated) + "</span></div>",
        className: "case-cluster case-cluster-" + (n < 10 ? "s" : n < 100 ? "m" : "l"),
        iconSize: L.point(size, size)})});
    }
  };

  /* ---- live updates: onemap:change (from live.js) → a small buffer → the mon-live store ---- */
  var buffer = [];
  var flushTimer = null;
  function flush() {
    flushTimer = null;
    if (!buffer.length || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    if (!document.getElementById("mon-page")) { buffer = []; return; }
    var events = buffer;
    buffer = [];
    window.dash_clientside.set_props("mon-live", {data: {events: events, at: Date.now()}});
  }
  // live.js dispatches on window; capturing on window also sees events dispatched on document.
  window.addEventListener("onemap:change", function (e) {
    if (!e.detail) { return; }
    buffer.push(e.detail);
    if (!flushTimer) { flushTimer = setTimeout(flush, 300); }
  }, true);

  // Server refreshes (map layers, KPIs, QC, lists) at most this often while events stream in: the first event
  // refreshes at once, later ones within this window once more at its end. Figures that can be counted from the
  // event itself are bumped at once in between (see bumpKpis below); the server's answer stays the truth.
  var REFRESH_DEBOUNCE_MS = 3000;
  var lastRefresh = 0;
  var pendingRefresh = null;
  var seen = {};

  function matches(ev, state) {
    var f = ev.fields || {};
    if (state.disease && state.disease.length && state.disease.indexOf(f.disease_code) < 0) { return false; }
    if (f.onset_date && (f.onset_date < state.since || f.onset_date > state.until)) { return false; }
    var r = state.region || "";
    if (/^\d{6}$/.test(r) && r !== "310000" && ev.district_code && ev.district_code !== r) { return false; }
    if (/^\d{9}$/.test(r) && ev.region_code && ev.region_code !== r) { return false; }
    return true;
  }

  function markLayer(layer, iso) {
    var el = document.querySelector('.layer-age[data-layer="' + layer + '"]');
    if (el) {
      el.setAttribute("data-synced", String(Date.now()));
      if (iso) { el.setAttribute("data-updated", iso); }
    }
  }

  /* ---- KPI figures follow case events at once (issue #15, item 9); the debounced server refresh reconciles ---- */
  var DAY_MS = 86400000;
  var KPI_WINDOWS = [["today", 1], ["days7", 7], ["days28", 28]];  // layers/indicators.py kpis()
  var COUNTED_TYPES = {confirmed: 1, clinical: 1};                 // layers/cases.py case_where()

  function cstDay(iso) {  // an ISO instant → its day number in Asia/Shanghai (days since 1970-01-01)
    var t = Date.parse(iso);
    return isNaN(t) ? null : Math.floor((t + 8 * 3600000) / DAY_MS);
  }

  function dayNumber(ymd) {  // "2026-11-30" → days since 1970-01-01
    var t = Date.parse(String(ymd || "") + "T00:00:00Z");
    return isNaN(t) ? null : Math.floor(t / DAY_MS);
  }

  /* Whether a case event counts in the KPIs of the screen's area and diseases (report time decides the day). */
  function kpiCounts(ev, state) {
    var f = ev.fields || {}, r = state.region || "";
    if (ev.kind !== "case_report" || ev.action !== "created" || !COUNTED_TYPES[f.case_type]) { return false; }
    if (state.disease && state.disease.length && state.disease.indexOf(f.disease_code) < 0) { return false; }
    if (/^\d{6}$/.test(r)) { return r === "310000" || ev.district_code === r; }
    if (/^\d{9}$/.test(r)) { return ev.region_code === r; }
    return false;  // a grid cell or an institution's area: only the server can tell, wait for its refresh
  }

  function kpiValue(key) {
    var el = document.getElementById("mon-kpi-" + key);
    var n = el ? parseInt((el.textContent || "").replace(/[^0-9]/g, ""), 10) : NaN;
    return isNaN(n) ? null : n;
  }

  /* Add this batch's counted cases to the KPI figures shown (via set_props, so Dash's own state follows). */
  function bumpKpis(events, state, seenKpi) {
    var until = dayNumber(state.until), add = {today: 0, days7: 0, days28: 0};
    if (until === null || !window.dash_clientside.set_props) { return; }
    events.forEach(function (ev) {
      if (!kpiCounts(ev, state) || seenKpi["k" + ev.id]) { return; }
      var day = cstDay((ev.fields || {}).report_time);
      if (day === null || day > until) { return; }
      seenKpi["k" + ev.id] = 1;
      KPI_WINDOWS.forEach(function (w) { if (day > until - w[1]) { add[w[0]] += 1; } });
    });
    KPI_WINDOWS.forEach(function (w) {
      var now = kpiValue(w[0]);
      if (add[w[0]] && now !== null) {
        window.dash_clientside.set_props("mon-kpi-" + w[0], {children: (now + add[w[0]]).toLocaleString("en-US")});
      }
    });
  }
  var kpiSeen = {};

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap_monitor = {
    closeEvidence: function () { return true; },
    /* The store → every overlay's `checked` (names in the order of the ids passed as State). */
    applyOverlays: function (state) {
      var names = Array.prototype.slice.call(arguments, 1);
      overlayState = Object.assign({}, state || {});
      return names.map(function (name) {
        return Object.prototype.hasOwnProperty.call(overlayState, name) ? overlayState[name]
          : window.dash_clientside.no_update;
      });
    },
    scaleFigure: function (fig, pageClass) {
      if (!fig) { return window.dash_clientside.no_update; }
      // Only on the wall: its smallest text is 14 px on 1080p, 28 px on 4K (assets/wall.css --om-wall-text-min).
      if ((pageClass || "").indexOf("is-wall") < 0) { return fig; }
      var k = window.onemap.screenScale();
      var layout = Object.assign({}, fig.layout);
      layout.font = Object.assign({}, layout.font, {size: Math.round(15 * k)});
      layout.margin = {l: 40 * k, r: 10 * k, t: 10 * k, b: 30 * k};
      return Object.assign({}, fig, {layout: layout});
    },
    markSynced: function (sync) {
      var now = String(Date.now()), updated = (sync && sync.updated) || {};
      document.querySelectorAll("#mon-ages .layer-age").forEach(function (el) {
        el.setAttribute("data-synced", now);
        var stamp = updated[el.getAttribute("data-layer")];
        if (stamp) { el.setAttribute("data-updated", stamp); }
      });
      return "layer-ages";
    },
    applyLive: function (live, state) {
      var nu = window.dash_clientside.no_update;
      if (!live || !live.events) { return [nu, nu]; }
      var patch = new window.dash_clientside.Patch();
      var added = 0, relevant = 0, urgent = false;
      live.events.forEach(function (ev) {
        if (ev.kind === "case_report") {
          markLayer("cases", ev.time); markLayer("incidence", ev.time);
          if (!matches(ev, state)) { return; }
          relevant++;
          var key = "c" + ev.id;
          if (ev.action === "created" && !seen[key] && Array.isArray(ev.geometry)) {
            seen[key] = 1;
            var f = ev.fields || {};
            patch.append(["features"], {type: "Feature", id: ev.id,
              geometry: {type: "Point", coordinates: ev.geometry},
              properties: {id: ev.id, disease_code: f.disease_code, onset_date: f.onset_date,
                           tooltip: window.onemap.markup.tooltip(null, [["新报告", f.disease_code, "发病 " + f.onset_date]])}});
            added++;
          }
        } else if (ev.kind === "signal") {
          markLayer("signals", ev.time); markLayer("clusters", ev.time);
          relevant++;
          urgent = true;  // signals are rare and drawn by the server only: refresh at once, not after the window
        }
      });
      bumpKpis(live.events, state || {}, kpiSeen);
      var refresh = nu;
      if (relevant) {
        var wait = Math.max(0, lastRefresh + REFRESH_DEBOUNCE_MS - Date.now());
        if (wait === 0 || urgent) {
          lastRefresh = Date.now();
          refresh = lastRefresh;
        } else if (!pendingRefresh) {
          pendingRefresh = setTimeout(function () {
            pendingRefresh = null;
            lastRefresh = Date.now();
            window.dash_clientside.set_props("mon-refresh", {data: lastRefresh});
          }, wait);
        }
      }
      return [added ? patch.build() : nu, refresh];
    }
  };
})();
