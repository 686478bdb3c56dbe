/* 应急指挥一张图: Leaflet styling for dash-leaflet, and live moves of team markers without re-rendering layers. */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  var STATUS_COLOR = {standby: "#2e7d32", dispatched: "#e65100", on_site: "#c62828", resting: "#607d8b"};
  var TYPE_GLYPH = {epi: "流", sampling: "采", disinfection: "消", treatment: "医"};
  var TRACK_POINTS = 6;
  // Markers grow with the screen so they stay visible from across the room (assets/screen_scale.js).
  function px(n) { return Math.round(n * window.onemap.screenScale()); }
  var markers = {};   // team id → Leaflet marker (filled by teamPoint as dash-leaflet builds the layer)
  var tracks = {};    // team id → Leaflet polyline

  // Text into HTML only through the shared escaper (assets/markup.js; looked up at call time).
  function esc(s) { return window.onemap.markup.text(s); }

  function teamIcon(p) {
    var video = p.video_online ? "video-on" : "video-off";
    return L.divIcon({
      className: "cmd-team status-" + esc(p.status) + " " + video,
      html: "<span class=\"glyph\">" + esc(TYPE_GLYPH[p.type] || "队") + "</span><span class=\"video-dot\"></span>",
      iconSize: [px(26), px(26)], iconAnchor: [px(13), px(13)], tooltipAnchor: [px(13), 0]
    });
  }

  function teamTooltip(p) {
    return window.onemap.markup.tooltip(p.name, [[p.type_zh, p.status_zh, p.members + "人"],
                                                 "视频" + (p.video_online ? "在线" : "离线")]);
  }

  window.onemap.command = {
    teamPoint: function (feature, latlng) {
      var p = feature.properties;
      var m = L.marker(latlng, {icon: teamIcon(p), title: p.name, alt: p.name, riseOnHover: true, zIndexOffset: 500});
      m.bindTooltip(teamTooltip(p));
      m.feature = feature;
      markers[p.id] = m;
      return m;
    },
    trackStyle: function (feature) {
      var c = STATUS_COLOR[feature.properties.status] || "#455a64";
      return {color: c, weight: 3, opacity: 0.7, dashArray: "4 4"};
    },
    trackEach: function (feature, layer) {
      tracks[feature.properties.id] = layer;
    },
    resourcePoint: function (feature, latlng) {
      var p = feature.properties;
      var cls = "cmd-site" + (p.below_min ? " below" : "");
      var badge = p.below_min ? "<span class=\"badge\">" + esc(p.below_min) + "</span>" : "";
      return L.marker(latlng, {title: p.name, alt: p.name,
        icon: L.divIcon({className: cls, html: "<span class=\"glyph\">储</span>" + badge, iconSize: [px(24), px(24)],
                         iconAnchor: [px(12), px(12)], tooltipAnchor: [px(12), 0]})});
    },
    incidentStyle: function (feature) {
      var signal = feature.properties.source === "signal";
      return {color: signal ? "#ad1457" : "#d50000", weight: 2, dashArray: signal ? "2 4" : null,
              fillColor: "#ff5252", fillOpacity: 0.18};
    },
    incidentPoint: function (feature, latlng) {
      return L.marker(latlng, {title: feature.properties.title, alt: feature.properties.title, zIndexOffset: 800,
        icon: L.divIcon({className: "cmd-incident", html: "<span>!</span>", iconSize: [px(24), px(24)],
                         iconAnchor: [px(12), px(12)]})});
    },
    taskPoint: function (feature, latlng) {
      var p = feature.properties;
      return L.marker(latlng, {title: p.title, alt: p.title,
        icon: L.divIcon({className: "cmd-task" + (p.overdue ? " overdue" : ""), iconSize: [px(20), px(20)], iconAnchor: [px(10), px(10)],
                         html: "<span>" + (p.overdue ? "超" : "任") + "</span>"})});
    },
    // 流调 (issue 20): exposure places (point or area), contacts counted by street, hotspot cells.
    exposureStyle: function () {
      return {color: "#6a1b9a", weight: 2, fillColor: "#ab47bc", fillOpacity: 0.25};
    },
    exposurePoint: function (feature, latlng) {
      return L.circleMarker(latlng, {radius: px(7), color: "#6a1b9a", weight: 2, fillColor: "#ab47bc",
                                     fillOpacity: 0.7});
    },
    contactPoint: function (feature, latlng) {
      var p = feature.properties;
      return L.marker(latlng, {title: p.street_name, alt: p.street_name, interactive: true,
        icon: L.divIcon({className: "cmd-contacts" + (p.to_trace > 0 ? " to-trace" : ""),
                         iconSize: [px(30), px(20)], iconAnchor: [px(15), px(10)],
                         html: "<span>" + esc(p.total) + "</span>"})});
    },
    hotspotStyle: function (feature) {
      var k = feature.properties.kinds;
      return {color: k >= 3 ? "#b71c1c" : "#ef6c00", weight: 2, fillColor: k >= 3 ? "#e53935" : "#ffa726",
              fillOpacity: 0.35};
    },
    assistPoint: function (feature, latlng) {
      var p = feature.properties;
      return L.marker(latlng, {title: p.request_no, alt: p.request_no,
        icon: L.divIcon({className: "cmd-assist" + (p.overdue ? " overdue" : "") + " dir-" + p.direction,
                         iconSize: [px(20), px(20)], iconAnchor: [px(10), px(10)],
                         html: "<span>" + (p.overdue ? "超" : "协") + "</span>"})});
    },
    boundaryStyle: function (feature) {
      var district = feature.properties.level === "district";
      return {color: district ? "#90a4ae" : "#78909c", weight: district ? 2.5 : 1, dashArray: district ? null : "4 4",
              fill: false};
    },
    coverageStyle: function (feature) {
      return {fillColor: feature.properties.color, color: "#8d6e63", weight: 1, fillOpacity: 0.45};
    },
    serviceStyle: function () {
      return {color: "#00838f", weight: 2, fillColor: "#26c6da", fillOpacity: 0.12, dashArray: "6 3"};
    },
    decisionStyle: function (feature) {
      return {color: "#1565c0", weight: 2, fill: false, dashArray: "5 5"};
    },
    decisionPoint: function (feature, latlng) {
      return L.circleMarker(latlng, {radius: 7, color: "#fff", weight: 2, fillColor: "#1565c0", fillOpacity: 1});
    }
  };

  /* A team moved: move its marker and extend its track in place (no layer re-render). */
  function moveTeam(ev) {
    var m = markers[ev.id];
    var xy = Array.isArray(ev.geometry) ? ev.geometry : (ev.geometry && ev.geometry.coordinates);
    if (!m || !xy || xy.length < 2) { return false; }
    m.setLatLng([xy[1], xy[0]]);
    var line = tracks[ev.id];
    if (line && line.getLatLngs) {
      var pts = line.getLatLngs().concat([L.latLng(xy[1], xy[0])]);
      line.setLatLngs(pts.slice(-TRACK_POINTS));
    }
    m.getElement && m.getElement() && m.getElement().setAttribute("data-moved", String(Date.now()));
    return true;
  }

  /* A team changed status: restyle its marker at once; the panels follow on the server refresh. */
  function restyleTeam(ev) {
    var m = markers[ev.id];
    var status = ev.fields && ev.fields.status;
    if (!m || !status || !m.feature || m.feature.properties.status === status) { return; }
    m.feature.properties.status = status;
    m.setIcon(teamIcon(m.feature.properties));
  }

  var pending = [];
  var timer = null;
  function flush() {
    timer = null;
    if (!pending.length || !document.getElementById("cmd-live")) { pending = []; return; }
    pending = [];
    // A click on the hidden button (n_clicks) reliably starts the server refresh of layers and panels.
    document.getElementById("cmd-live").click();
  }

  window.addEventListener("onemap:change", function (e) {
    var ev = e.detail;
    if (!ev || !document.getElementById("cmd-map")) { return; }
    if (ev.kind === "team_position") {
      moveTeam(ev);
      restyleTeam(ev);
      var el = document.querySelector('.layer-age[data-layer="teams"]');
      if (el) { el.setAttribute("data-synced", String(Date.now())); }
      return;
    }
    if (ev.kind === "team") { restyleTeam(ev); }
    if (["team", "task", "stock", "incident", "signal", "duty_roster", "assist"].indexOf(ev.kind) < 0) { return; }
    pending.push(ev.kind);
    if (!timer) { timer = setTimeout(flush, 150); }
  });

  window.addEventListener("onemap:reset", function () {
    if (!document.getElementById("cmd-map")) { return; }
    pending.push("reset");
    if (!timer) { timer = setTimeout(flush, 150); }
  });

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap_command = {
    fitHome: function (sync, bounds) {
      var el = document.getElementById("cmd-map");  // a new page render brings a new element: fit once per render
      if (!sync || !bounds || !el || el.dataset.fitted) { return window.dash_clientside.no_update; }
      el.dataset.fitted = "1";
      return {bounds: bounds, transition: "fitBounds"};
    },
    markSynced: function (iso) {
      var now = String(Date.now());
      document.querySelectorAll("#cmd-ages .layer-age, #cmd-wall .layer-age").forEach(function (el) {
        el.setAttribute("data-synced", now);
        if (iso) { el.setAttribute("data-updated", iso); }
      });
      return "layer-ages";
    }
  };
  window.onemap.commandMarkers = markers;
})();
