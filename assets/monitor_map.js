/* 监测预警一张图: Leaflet styling functions for dash-leaflet, the layer switcher's state and the page's clientside
 * callbacks (no outside requests). Live updates: assets/monitor_live.js. */
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

  /* A graded warning event: a disc in its grade's colour holding the grade's character (红/橙/黄/蓝). */
  function gradeIcon(p) {
    var size = Math.round(28 * window.onemap.screenScale());
    var el = document.createElement("div");
    el.textContent = (p.grade_zh || "").charAt(0) || "!";
    el.style.background = p.grade_color;
    el.style.color = p.grade_text_color;
    el.style.fontSize = Math.round(size * 0.55) + "px";
    el.setAttribute("data-grade", p.grade);
    return L.divIcon({html: el, className: "signal-grade", iconSize: [size, size], iconAnchor: [size / 2, size / 2],
                      tooltipAnchor: [size / 2, 0]});
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
    setTimeout(syncCaseTiles, 0);  // after the overlay state below took the change
    if (!e || !e.name || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    if (!document.getElementById("mon-page")) { return; }
    var shown = e.type === "overlayadd";
    if (overlayState[e.name] === shown) { return; }
    overlayState = Object.assign({}, overlayState);
    overlayState[e.name] = shown;
    window.dash_clientside.set_props("mon-overlays", {data: overlayState});
  }

  var leafletMap = null;  // the monitor's map, once it moved or a region or overlay was drawn on it
  function mapSeen(e) { if (e && e.target && e.target.latLngToContainerPoint) { setMap(e.target); } }
  function setMap(m) {
    if (m && m !== leafletMap) { leafletMap = m; syncCaseTiles(); }
  }

  /* ---- many case points: drawn from vector tiles (/api/v1/tiles/cases, Leaflet.VectorGrid in assets/vendor) ---- */
  // The server sends {url, overlay, count} instead of the markers when the filters select more points than
  // markers can carry (dashboard/pages/monitor_layout.py CASE_TILE_THRESHOLD); null brings the markers back.
  var CASE_TILE_PANE = "mon-case-tiles-pane";
  var caseTiles = {spec: null, layer: null};
  // small, translucent, no outline: a year of a district's cases (thousands) must not hide the choropleth beneath
  var CASE_TILE_STYLE = {radius: 2, weight: 0, stroke: false, fill: true, fillColor: "#6d0000", fillOpacity: 0.5};

  function dropCaseTiles() {
    var map = caseTiles.layer && caseTiles.layer._map;
    if (map) {
      map.removeLayer(caseTiles.layer);
      map.getContainer().setAttribute("data-case-tiles", "off");
    }
    caseTiles.layer = null;
  }

  function casePane(map) {
    var pane = map.getPane(CASE_TILE_PANE);
    if (!pane) {
      pane = map.createPane(CASE_TILE_PANE);
      pane.style.zIndex = 450;  // above the choropleth (overlay pane 400), below markers and labels (600)
      pane.style.pointerEvents = "none";  // clicks reach the region underneath (street drill-down)
    }
    return CASE_TILE_PANE;
  }

  /* Show, replace or remove the tile layer to match the spec, the case overlay's switch and the current map. */
  function syncCaseTiles() {
    var spec = caseTiles.spec, map = leafletMap;
    var want = !!(spec && spec.url && map && overlayState[spec.overlay] !== false && L.vectorGrid);
    var layer = caseTiles.layer;
    if (layer && (!want || layer._map !== map || layer.onemapUrl !== spec.url)) { dropCaseTiles(); }
    if (want && caseTiles.layer && caseTiles.layer.onemapUpdated !== spec.updated) {
      caseTiles.layer.onemapUpdated = spec.updated;  // the cases changed: fetch again (ETag: unchanged tiles 304)
      caseTiles.layer.redraw();
    }
    if (!want || caseTiles.layer) { return; }
    layer = L.vectorGrid.protobuf(spec.url, {
      pane: casePane(map), rendererFactory: L.canvas.tile, interactive: false, maxNativeZoom: 22,
      vectorTileLayerStyles: {cases: CASE_TILE_STYLE}, fetchOptions: {credentials: "same-origin"}
    });
    layer.onemapUrl = spec.url;
    layer.onemapUpdated = spec.updated;
    layer.on("load", function () { map.getContainer().setAttribute("data-case-tiles", "loaded"); });
    caseTiles.layer = layer.addTo(map);
  }

  /* ---- the case overlay's label follows how its points are drawn: （聚合） markers or （矢量切片） tiles ---- */
  // The overlay keeps its name (its key in the switcher events and the mon-overlays store); only the text shown
  // changes. Leaflet rebuilds the switcher's labels from the names (Control.Layers._addItem, Leaflet 1.9), so
  // every label it builds carries its overlay's name and shows the label of the current mode.
  function shownName(name) {
    var spec = caseTiles.spec;
    return spec && spec.label && name === spec.overlay ? spec.label : name;
  }

  function labelText(label, name) {
    var text = label.querySelector("span > span");
    if (text) { text.textContent = " " + shownName(name); }
  }

  function relabelOverlays() {
    document.querySelectorAll(".mon-map .leaflet-control-layers-overlays label[data-overlay]").forEach(
      function (label) { labelText(label, label.getAttribute("data-overlay")); });
  }

  var layersProto = window.L && L.Control && L.Control.Layers && L.Control.Layers.prototype;
  if (layersProto && layersProto._addItem && !layersProto.onemapAddItem) {
    layersProto.onemapAddItem = layersProto._addItem;
    layersProto._addItem = function (obj) {
      var label = this.onemapAddItem(obj);
      if (label && obj.overlay) {
        label.setAttribute("data-overlay", obj.name);
        labelText(label, obj.name);
      }
      return label;
    };
  }

  window.onemap.map = {
    regionFeature: function (feature, layer) {  // onEachFeature of the choropleth
      layer.onemapRegion = true;
      layer.on("add", function () { setMap(layer._map); });
      bindTooltip(feature, layer);
    },
    leafletMap: function () { return leafletMap; },
    caseTileLayer: function () { return caseTiles.layer; },  // the Leaflet.VectorGrid layer while tiles are drawn
    overlayShown: function (name) { return overlayState[name] !== false; },  // unswitched overlays keep their default
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
      m.on("add", function () {
        var el = m.getElement();
        if (el) { el.setAttribute("data-case-id", String(feature.id)); }
        var live = window.onemap.liveCases;
        if (el && (m.onemapPulse || (live && live.pulses(feature.id)))) { el.classList.add("live-pulse"); }
        // the Dash layer's own marker replaces the one assets/monitor_live.js drew at once
        if (!m.onemapDirect && live) { live.drawnByLayer(feature.id); }
      });
      return m;
    },
    signalPoint: function (feature, latlng) {
      var p = feature.properties;
      return L.marker(latlng, {icon: p.grade ? gradeIcon(p) : icon("signal.svg"), zIndexOffset: 1000,
                               title: p.title, alt: p.title});
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

  window.dash_clientside = window.dash_clientside || {};
  // applyLive is added by assets/monitor_live.js (loaded first: assets load in name order)
  window.dash_clientside.onemap_monitor = Object.assign(window.dash_clientside.onemap_monitor || {}, {
    closeEvidence: function () { return true; },
    /* mon-case-tiles → the vector-tile layer of case points (or none); the mode for tests and the wall. */
    applyCaseTiles: function (spec) {
      caseTiles.spec = spec && spec.url ? spec : null;
      syncCaseTiles();
      relabelOverlays();
      return caseTiles.spec ? "tiles" : "markers";
    },
    /* The store → every overlay's `checked` (names in the order of the ids passed as State). */
    applyOverlays: function (state) {
      var names = Array.prototype.slice.call(arguments, 1);
      overlayState = Object.assign({}, state || {});
      setTimeout(syncCaseTiles, 0);
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
    }
  });
})();
