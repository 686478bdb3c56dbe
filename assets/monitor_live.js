/* 监测预警一张图, live updates (issue #15): onemap:change (assets/live.js) → on screen at once → Dash follows.
 *
 * A new case report that matches the screen's filters is drawn straight onto the Leaflet map and the KPI
 * figures' text is raised in the same event handler (assets/monitor_kpis.js), so nothing waits for a Dash
 * round trip. The events are also buffered (300 ms; up to 3 s while they stream) into the mon-live store:
 * applyLive appends them to the Dash layer mon-live-cases (whose own marker then replaces the one drawn here)
 * and asks for a debounced server refresh, which stays the truth for every layer and figure. Styling
 * (liveCasePoint) and the layer switcher's state live in monitor_map.js.
 */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  var LIVE_OVERLAY = "实时新增病例";  // the overlay's name in the layer switcher (dashboard/pages/monitor.py)

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) { window.dash_clientside.set_props(id, props); }
  }

  /* The monitor's filters (the mon-state store) as Dash holds them now; null when not on /monitor. */
  function monitorState() {
    var api = window.dash_component_api;
    if (!document.getElementById("mon-page") || !api || !api.getLayout) { return null; }
    try {
      var node = api.getLayout("mon-state");
      return node && node.props && node.props.data ? node.props.data : null;
    } catch (err) {
      return null;
    }
  }

  function matches(ev, state) {
    var f = ev.fields || {};
    if (state.disease && state.disease.length && state.disease.indexOf(f.disease_code) < 0) { return false; }
    if (f.onset_date && (f.onset_date < state.since || f.onset_date > state.until)) { return false; }
    var r = state.region || "";
    if (/^\d{6}$/.test(r) && r !== "310000" && ev.district_code && ev.district_code !== r) { return false; }
    if (/^\d{9}$/.test(r) && ev.region_code && ev.region_code !== r) { return false; }
    return true;
  }

  /* A disease's Chinese name as the disease filter lists it (the event carries only its code). */
  function diseaseName(code) {
    var api = window.dash_component_api, options = [];
    try {
      var node = api && api.getLayout && api.getLayout("mon-disease");
      options = (node && node.props && node.props.options) || [];
    } catch (err) {
      options = [];
    }
    var hit = options.filter(function (o) { return o.value === code; })[0];
    return hit ? String(hit.label).replace(/（[甲乙丙]类）$/, "") : "病例";
  }

  /* The GeoJSON feature of a new case, as both the direct marker and the Dash live layer draw it. */
  function liveFeature(ev) {
    var f = ev.fields || {};
    return {type: "Feature", id: ev.id, geometry: {type: "Point", coordinates: ev.geometry},
            properties: {id: ev.id, disease_code: f.disease_code, onset_date: f.onset_date,
                         tooltip: window.onemap.markup.tooltip(null, [["新报告", diseaseName(f.disease_code),
                                                                       "发病 " + f.onset_date]])}};
  }

  /* ---- markers drawn straight onto the map, each until the Dash live layer has drawn its own ---- */
  var direct = {};  // case id → Leaflet marker

  function dropDirect(id) {
    var m = direct[id];
    if (m) { delete direct[id]; m.remove(); }
  }

  function dropAllDirect() { Object.keys(direct).forEach(dropDirect); }

  function hook(map) {  // switching the live overlay off (by hand or from the store) takes these markers too
    if (map.onemapLiveHooked) { return; }
    map.onemapLiveHooked = true;
    map.on("overlayremove", function (e) { if (e.name === LIVE_OVERLAY) { dropAllDirect(); } });
  }

  /* Whether a new case marker pulses: only on a quiet map (no other new case for CALM_MS). A pulse repaints the
   * map on every animation frame; in a burst every marker pulsing kept a screen drawing at 60 frames a second
   * (Chromium trace: 885 frames in 15 s at 10 cases/s), which delayed the next event's marker by seconds. */
  var CALM_MS = 10000, PULSE_MS = 4500;  // the pulse: 3 × 1.5 s (assets/monitor.css)
  var lastCaseAt = 0;
  var pulseUntil = {};  // case id → end of its pulse (the Dash layer's marker that replaces ours pulses on)
  function pulseNow(id) {
    var now = Date.now(), calm = now - lastCaseAt > CALM_MS;
    lastCaseAt = now;
    pulseUntil = {};
    if (calm) { pulseUntil[id] = now + PULSE_MS; }
    return calm;
  }

  function drawDirect(feature, pulse) {
    var api = window.onemap.map, map = api && api.leafletMap();
    if (!map || direct[feature.id] || !api.overlayShown(LIVE_OVERLAY)) { return; }
    if (!map.getContainer().isConnected) { return; }  // the map of a page left behind
    hook(map);
    var c = feature.geometry.coordinates;
    var m = api.liveCasePoint(feature, L.latLng(c[1], c[0]));
    m.onemapDirect = true;
    m.onemapPulse = pulse;
    m.bindTooltip(feature.properties.tooltip);
    direct[feature.id] = m;
    m.addTo(map);
  }

  /* An event on screen at once: its marker (if the live overlay is shown) and the figures it raises. */
  function showAtOnce(ev) {
    if (ev.kind !== "case_report" || ev.action !== "created") { return; }
    var state = monitorState();
    if (!state) { return; }
    var pulse = pulseNow(ev.id);
    if (matches(ev, state) && Array.isArray(ev.geometry)) { drawDirect(liveFeature(ev), pulse); }
    window.onemap.liveKpis.heard([ev], state);  // assets/monitor_kpis.js
  }

  /* ---- the buffer: onemap:change → the mon-live store, 300 ms after a quiet spell, else every FLUSH_MS ---- */
  // What is seen no longer waits for the buffer (showAtOnce). Each flush re-draws the Dash live layer whole and
  // goes through the Dash renderer: at 20 events/s a flush every 300 ms kept a loaded screen's main thread (and
  // so the next event's marker) waiting for seconds.
  var BUFFER_MS = 300;
  var FLUSH_MS = 3000;
  var buffer = [];
  var flushTimer = null;
  var lastFlush = 0;
  function flush() {
    flushTimer = null;
    lastFlush = Date.now();
    if (!document.getElementById("mon-page")) { buffer = []; return; }
    window.onemap.liveKpis.sync();
    if (!buffer.length || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    var events = buffer;
    buffer = [];
    setProps("mon-live", {data: {events: events, at: Date.now()}});
  }

  function scheduleFlush() {
    if (!flushTimer) { flushTimer = setTimeout(flush, Math.max(BUFFER_MS, lastFlush + FLUSH_MS - Date.now())); }
  }

  // live.js dispatches on window; capturing on window also sees events dispatched on document.
  window.addEventListener("onemap:change", function (e) {
    if (!e.detail) { return; }
    buffer.push(e.detail);
    showAtOnce(e.detail);
    scheduleFlush();
  }, true);

  // Server refreshes (map layers, KPIs, QC, lists) at most this often while events stream in: the first event
  // refreshes at once, later ones within this window once more at its end. Each one re-renders every layer and
  // panel; 10 s (was 3 s) leaves a screen on a 20 events/s stream time for the events themselves.
  var REFRESH_DEBOUNCE_MS = 10000;
  var lastRefresh = 0;
  var pendingRefresh = null;
  var seen = {};  // case ids appended to the Dash live layer

  function markLayer(layer, iso) {
    var el = document.querySelector('.layer-age[data-layer="' + layer + '"]');
    if (el) {
      el.setAttribute("data-synced", String(Date.now()));
      if (iso) { el.setAttribute("data-updated", iso); }
    }
  }

  function refreshOutput(relevant, urgent) {
    var nu = window.dash_clientside.no_update;
    if (!relevant) { return nu; }
    var wait = Math.max(0, lastRefresh + REFRESH_DEBOUNCE_MS - Date.now());
    if (wait === 0 || urgent) {
      lastRefresh = Date.now();
      return lastRefresh;
    }
    if (!pendingRefresh) {
      pendingRefresh = setTimeout(function () {
        pendingRefresh = null;
        lastRefresh = Date.now();
        setProps("mon-refresh", {data: lastRefresh});
      }, wait);
    }
    return nu;
  }

  window.onemap.liveCases = {
    /* liveCasePoint's marker of the Dash layer is on the map: the one drawn here for that case goes. */
    drawnByLayer: function (id) { dropDirect(id); },
    /* Whether the marker of this case pulses (a new case on a quiet map, for the length of its pulse). */
    pulses: function (id) { return (pulseUntil[id] || 0) > Date.now(); }
  };

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap_monitor = window.dash_clientside.onemap_monitor || {};
  /* mon-live → [mon-live-cases data (a Patch appending the new cases), mon-refresh]. */
  window.dash_clientside.onemap_monitor.applyLive = function (live, state) {
    var nu = window.dash_clientside.no_update;
    if (!live || !live.events) { return [nu, nu]; }
    var patch = new window.dash_clientside.Patch();
    var added = 0, relevant = 0, urgent = false;
    state = state || {};
    live.events.forEach(function (ev) {
      if (ev.kind === "case_report") {
        markLayer("cases", ev.time); markLayer("incidence", ev.time);
        if (!matches(ev, state)) { dropDirect(ev.id); return; }  // the filters changed since it was drawn
        relevant++;
        var key = "c" + ev.id;
        if (ev.action === "created" && !seen[key] && Array.isArray(ev.geometry)) {
          seen[key] = 1;
          patch.append(["features"], liveFeature(ev));
          added++;
        }
      } else if (ev.kind === "signal") {
        markLayer("signals", ev.time); markLayer("clusters", ev.time);
        relevant++;
        urgent = true;  // signals are rare and drawn by the server only: refresh at once, not after the window
      }
    });
    window.onemap.liveKpis.heard(live.events, state);  // those the handler could not count (no state yet)
    window.onemap.liveKpis.sync();
    return [added ? patch.build() : nu, refreshOutput(relevant, urgent)];
  };
})();
