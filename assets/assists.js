/* 跨地区协查 (/assists), live: a change of a 协查 request (event kind "assist", assets/live.js) refreshes the
 * list and the open request. A click on the hidden #assist-live button (n_clicks) starts the server refresh;
 * bursts of events make one click. */
(function () {
  "use strict";
  var timer = null;
  function flush() {
    timer = null;
    var button = document.getElementById("assist-live");
    if (button) { button.click(); }
  }
  function later() {
    if (!document.getElementById("assist-live") || timer) { return; }
    timer = setTimeout(flush, 150);
  }
  window.addEventListener("onemap:change", function (e) {
    if (e.detail && e.detail.kind === "assist") { later(); }
  });
  window.addEventListener("onemap:reset", later);
})();
