/* OneMap live push: one EventSource per page on /api/v1/live, reconnecting by itself.
 *
 * Every change arrives as a DOM CustomEvent on `window`:
 *   window.addEventListener("onemap:change", e => { e.detail.kind, e.detail.id, e.detail.geometry, ... });
 *   window.addEventListener("onemap:reset", e => { reload the layers: some events were missed });
 * `e.detail.event_id` is the stream id. `window.OneMapLive` = {connected, lastEventAt, lastEventId, received}.
 * Served locally by Dash from assets/ (no CDN); pages with <meta name="onemap-live" content="off"> opt out.
 */
(function () {
  "use strict";
  if (window.OneMapLive || typeof EventSource === "undefined") { return; }
  var optOut = document.querySelector('meta[name="onemap-live"][content="off"]');
  if (optOut) { return; }

  var URL = "/api/v1/live";
  var MIN_DELAY = 1000, MAX_DELAY = 30000;
  var state = window.OneMapLive = {connected: false, lastEventAt: null, lastEventId: null, received: 0};
  var source = null, delay = MIN_DELAY, timer = null;

  function emit(name, detail) {
    window.dispatchEvent(new CustomEvent(name, {detail: detail}));
  }

  function onChange(e) {
    var detail;
    try { detail = JSON.parse(e.data); } catch (err) { return; }
    detail.event_id = e.lastEventId;
    state.lastEventId = e.lastEventId || state.lastEventId;
    state.lastEventAt = Date.now();
    state.received += 1;
    emit("onemap:change", detail);
  }

  function onReset(e) {
    state.lastEventId = e.lastEventId || state.lastEventId;
    state.lastEventAt = Date.now();
    emit("onemap:reset", {event_id: e.lastEventId});
  }

  function setConnected(value) {
    if (state.connected !== value) {
      state.connected = value;
      emit("onemap:live-status", {connected: value});
    }
  }

  function connect() {
    timer = null;
    // A new EventSource does not send Last-Event-ID by itself: pass it so nothing is missed.
    var url = state.lastEventId ? URL + "?last_event_id=" + encodeURIComponent(state.lastEventId) : URL;
    source = new EventSource(url, {withCredentials: true});
    source.addEventListener("open", function () { setConnected(true); delay = MIN_DELAY; });
    source.addEventListener("change", onChange);
    source.addEventListener("reset", onReset);
    source.addEventListener("error", function () {
      setConnected(false);
      // The browser retries by itself while the stream is CONNECTING; when it gave up (CLOSED, e.g. a 401
      // or 503), we reconnect with back-off and resume from the last event we saw.
      if (source.readyState === EventSource.CLOSED) { schedule(); }
    });
  }

  function schedule() {
    if (source) { source.close(); source = null; }
    if (timer) { return; }
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
  }

  // Belt and braces for screens left open for days: never stay on a closed stream.
  setInterval(function () {
    if (source && source.readyState === EventSource.CLOSED) { schedule(); }
  }, 10000);

  state.reconnect = function () { schedule(); };
  connect();
})();
