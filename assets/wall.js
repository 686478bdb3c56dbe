/* Video-wall shell (大屏): clock, per-layer data age, stale banner, map rotation, self-recovery. */
(function () {
  "use strict";
  var HEALTH_OK_MS = 15000, BACKOFF_MIN_MS = 2000, BACKOFF_MAX_MS = 60000;
  var shownWall = null, shownSince = 0;
  var healthDown = false, backoff = BACKOFF_MIN_MS, healthTimer = null;

  /* Beijing time whatever the kiosk's own time zone is (assets/beijing_time.js, Intl with Asia/Shanghai). */
  function clockText(ms) { return window.onemap.time.clock(ms); }

  function ageText(seconds) { return window.onemap.time.age(seconds); }

  function updateAges(wall, now) {
    var stale = false, limit = Number((wall && wall.getAttribute("data-stale")) || 120);
    document.querySelectorAll(".layer-age").forEach(function (el) {
      var synced = Number(el.getAttribute("data-synced") || 0);
      var out = el.querySelector(".age-value");
      if (!synced) { return; }
      var age = Math.max(0, Math.round((now - synced) / 1000));
      var updated = el.getAttribute("data-updated");
      var text = "同步 " + ageText(age);
      if (updated) {
        var u = Date.parse(updated);
        if (!isNaN(u)) { text = "数据 " + window.onemap.time.hm(u) + " · " + text; }
      }
      if (out && out.textContent !== text) { out.textContent = text; }
      var isStale = age > limit;
      el.classList.toggle("stale", isStale);
      stale = stale || isStale;
    });
    var banner = wall && wall.querySelector(".wall-banner");
    if (banner) {
      var show = stale || healthDown;
      banner.hidden = !show;
      banner.textContent = healthDown ? "与服务器的连接已中断，正在自动重连…" : "部分图层数据超过2分钟未更新，正在重新获取…";
    }
  }

  function rotate(wall, now) {
    if (wall !== shownWall) { shownWall = wall; shownSince = now; }
    var seconds = Number(wall.getAttribute("data-rotate") || 0);
    var next = wall.getAttribute("data-next");
    if (!seconds || !next || healthDown || now - shownSince < seconds * 1000) { return; }
    shownSince = now;
    var params = new URLSearchParams(window.location.search);
    var target = new URL(next, window.location.origin);
    if (params.has("rotate")) { target.searchParams.set("rotate", params.get("rotate")); }
    window.history.pushState({}, "", target.pathname + target.search);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
  }

  function tick() {
    var now = Date.now();
    var wall = document.querySelector(".wall");
    document.querySelectorAll(".wall-clock").forEach(function (el) { el.textContent = clockText(now); });
    document.documentElement.classList.toggle("wall-mode", !!wall);
    if (wall) {
      updateAges(wall, now);
      rotate(wall, now);
    } else {
      updateAges(null, now);
    }
  }

  function scheduleHealth(ms) {
    if (healthTimer) { clearTimeout(healthTimer); }
    healthTimer = setTimeout(checkHealth, ms);
  }

  function checkHealth() {
    if (!document.querySelector(".wall")) { scheduleHealth(HEALTH_OK_MS); return; }
    fetch("/healthz", {cache: "no-store", credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("health " + r.status); }
      if (healthDown) {
        /* The server is back: reload the layout so every layer and callback starts fresh. */
        window.location.reload();
        return;
      }
      backoff = BACKOFF_MIN_MS;
      scheduleHealth(HEALTH_OK_MS);
    }).catch(function () {
      healthDown = true;
      scheduleHealth(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  }

  window.onemap = window.onemap || {};
  window.onemap.wall = {checkHealth: checkHealth, state: function () { return {down: healthDown, backoff: backoff}; }};
  window.addEventListener("online", function () { scheduleHealth(0); });
  setInterval(tick, 1000);
  scheduleHealth(HEALTH_OK_MS);
  document.addEventListener("DOMContentLoaded", tick);
})();
