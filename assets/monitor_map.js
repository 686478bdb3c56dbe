/* 监测预警一张图: Leaflet styling functions for dash-leaflet and the live-update glue (no outside requests). */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  var icons = {};
  function icon(file) {
    if (!icons[file]) {
      var size = Math.round(26 * window.onemap.screenScale());  // 52 px on a 4K wall (assets/screen_scale.js)
      icons[file] = L.icon({iconUrl: "/assets/icons/" + file, iconSize: [size, size],
                            iconAnchor: [size / 2, size / 2], tooltipAnchor: [size / 2, 0]});
    }
    return icons[file];
  }

  window.onemap.map = {
    choroplethStyle: function (feature) {
      return {fillColor: feature.properties.color, color: "#5b6b7c", weight: 1, fillOpacity: 0.72, opacity: 0.9};
    },
    hoverStyle: function () {
      return {weight: 3, color: "#1f3b57"};
    },
    clusterStyle: function () {
      return {color: "#ff1744", weight: 3, dashArray: "6 4", fillColor: "#ff1744", fillOpacity: 0.15};
    },
    labelPoint: function (feature, latlng) {
      return L.marker(latlng, {interactive: false, keyboard: false,
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
      return L.circleMarker(latlng, {radius: 5, color: "#7f0000", weight: 1, fillColor: "#e53935", fillOpacity: 0.9});
    },
    liveCasePoint: function (feature, latlng) {
      return L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 2, fillColor: "#ff6d00", fillOpacity: 1,
                                     className: "live-case"});
    },
    signalPoint: function (feature, latlng) {
      return L.marker(latlng, {icon: icon("signal.svg"), zIndexOffset: 1000, title: feature.properties.title,
                               alt: feature.properties.title});
    },
    clusterPoint: function (feature, latlng, index) {
      var n = feature.properties.point_count;
      var size = n < 10 ? 30 : n < 100 ? 38 : n < 1000 ? 46 : 54;
      return L.marker(latlng, {icon: L.divIcon({
        html: "<div><span>" + feature.properties.point_count_abbreviated + "</span></div>",
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
  document.addEventListener("onemap:change", function (e) {
    if (!e.detail) { return; }
    buffer.push(e.detail);
    if (!flushTimer) { flushTimer = setTimeout(flush, 300); }
  });

  var REFRESH_DEBOUNCE_MS = 5000;
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

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap_monitor = {
    closeEvidence: function () { return true; },
    scaleFigure: function (fig, pageClass) {
      if (!fig) { return window.dash_clientside.no_update; }
      var k = (pageClass || "").indexOf("is-wall") >= 0 ? window.onemap.screenScale() : 1;
      if (k === 1) { return fig; }
      var layout = Object.assign({}, fig.layout);
      layout.font = Object.assign({}, layout.font, {size: Math.round(12 * k * 1.15)});
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
      var added = 0, relevant = 0;
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
                           tooltip: "新报告 · " + esc(f.disease_code) + " · 发病 " + esc(f.onset_date)}});
            added++;
          }
        } else if (ev.kind === "signal") {
          markLayer("signals", ev.time); markLayer("clusters", ev.time);
          relevant++;
        }
      });
      var refresh = nu;
      if (relevant) {
        var wait = Math.max(0, lastRefresh + REFRESH_DEBOUNCE_MS - Date.now());
        if (wait === 0) {
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
