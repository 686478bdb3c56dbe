/* 监测预警一张图: the KPI figures (当日报告 / 近7天 / 近28天) follow live case events (issue #15, item 9).
 *
 * heard(events, state) — from the onemap:change handler (assets/monitor_live.js): each new case that counts for
 *   the screen's filters raises the figures' text at once (a Dash html.Div with one string child is a
 *   text-content prop to React, so writing the element's text is safe).
 * sync() — hands the figures shown to Dash (set_props), so Dash's state is what is on screen.
 * reconcileKpis — clientside callback on mon-kpis children (the server's answer): each figure carries
 *   data-live-mark, the last live event it includes (dashboard/pages/monitor.py); the figure shown becomes the
 *   server's plus the cases this screen heard of after that mark, so a refresh answered while cases stream in
 *   never takes back a case the screen has already counted.
 */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  var DAY_MS = 86400000;
  var KPI_WINDOWS = [["today", 1], ["days7", 7], ["days28", 28]];  // layers/indicators.py kpis()
  var COUNTED_TYPES = {confirmed: 1, clinical: 1};                 // layers/cases.py case_where()
  var RECENT_MAX = 5000;
  var KEEP_MS = 120000;  // an answer arriving late may carry an older mark: keep what it may need a while
  var counted = {};    // case ids already added to the figures on this page
  var recent = [];     // {ev, at}: case events heard of (oldest first), until answers have included them a while
  var recentIds = {};
  var shown = {};      // KPI key → {value, el}: the figure on screen, for the element it was shown in
  var dirty = {};      // KPI keys raised here and not yet handed to Dash

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) { window.dash_clientside.set_props(id, props); }
  }

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

  /* The KPI keys whose window holds this case for these filters ([] when it does not count). */
  function windowsOf(ev, state) {
    var until = dayNumber(state.until), day = cstDay((ev.fields || {}).report_time);
    if (until === null || day === null || day > until || !kpiCounts(ev, state)) { return []; }
    return KPI_WINDOWS.filter(function (w) { return day > until - w[1]; }).map(function (w) { return w[0]; });
  }

  function later(a, b) {  // live stream ids "1732950000000-3": whether a comes after b
    var x = String(a).split("-"), y = String(b).split("-"), d = Number(x[0]) - Number(y[0]);
    return d > 0 || (d === 0 && Number(x[1] || 0) > Number(y[1] || 0));
  }

  // 12345 → "12,345" as the server writes it (f"{n:,}"); toLocaleString builds a formatter on every call,
  // which cost a loaded screen more time than the rest of the live code.
  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  function figureOf(text) {
    var n = parseInt(String(text == null ? "" : text).replace(/[^0-9]/g, ""), 10);
    return isNaN(n) ? null : n;
  }

  function element(key) { return document.getElementById("mon-kpi-" + key); }

  /* The figure on screen: ours if it was shown in this element (not a page left behind), else the element's. */
  function current(key) {
    var el = element(key), s = shown[key];
    if (!el) { return null; }
    if (s && (s.el === el || s.el === null)) { s.el = el; return s.value; }
    return figureOf(el.textContent);
  }

  function remember(ev) {
    if (ev.kind !== "case_report" || ev.action !== "created" || !ev.event_id || recentIds[ev.id]) { return; }
    recentIds[ev.id] = 1;
    recent.push({ev: ev, at: Date.now()});
    if (recent.length > RECENT_MAX) { delete recentIds[recent.shift().ev.id]; }
  }

  function heard(events, state) {
    events.forEach(function (ev) {
      remember(ev);
      var keys = counted[ev.id] ? [] : windowsOf(ev, state);
      if (!keys.length) { return; }
      counted[ev.id] = 1;
      keys.forEach(function (key) {
        var now = current(key), el = element(key);
        if (now === null) { return; }
        shown[key] = {value: now + 1, el: el};
        el.textContent = grouped(now + 1);
        dirty[key] = 1;
      });
    });
  }

  function sync() {
    Object.keys(dirty).forEach(function (key) {
      var s = shown[key];
      if (s && s.el && s.el === element(key)) { setProps("mon-kpi-" + key, {children: grouped(s.value)}); }
    });
    dirty = {};
  }

  function valuesIn(children, out) {  // the KPI figure components (id mon-kpi-*) in a Dash children tree
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      var p = c && c.props;
      if (!p) { return; }
      if (typeof p.id === "string" && p.id.indexOf("mon-kpi-") === 0) { out[p.id.slice(8)] = p; return; }
      valuesIn(p.children, out);
    });
    return out;
  }

  function reconcile(children, state) {
    var values = valuesIn(children, {}), marks = [];
    Object.keys(values).forEach(function (key) {
      var p = values[key], server = figureOf(p.children), mark = p["data-live-mark"], value = server;
      if (server === null) { return; }
      if (mark) {
        marks.push(mark);
        recent.forEach(function (r) {
          var ev = r.ev;
          if (later(ev.event_id, mark) && windowsOf(ev, state).indexOf(key) >= 0) { counted[ev.id] = 1; value += 1; }
        });
      }
      shown[key] = {value: value, el: element(key) || null};
      delete dirty[key];
      if (value !== server) { setProps("mon-kpi-" + key, {children: grouped(value)}); }
    });
    if (marks.length) {  // what answers have included for a while needs no remembering any more
      var old = Date.now() - KEEP_MS;
      recent = recent.filter(function (r) {
        var keep = r.at > old || later(r.ev.event_id, marks[0]);
        if (!keep) { delete recentIds[r.ev.id]; }
        return keep;
      });
    }
  }

  window.onemap.liveKpis = {heard: heard, sync: sync};

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap_monitor = window.dash_clientside.onemap_monitor || {};
  /* mon-kpis children (the server's KPI cards) → the figures shown; the output (its className) never changes. */
  window.dash_clientside.onemap_monitor.reconcileKpis = function (children, state) {
    reconcile(children, state || {});
    return window.dash_clientside.no_update;
  };
})();
