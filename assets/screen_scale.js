/* How much larger map markers and chart text are drawn on big screens: 1 on 1080p, 2 on a 4K wall (at most 2.5). */
(function () {
  "use strict";
  window.onemap = window.onemap || {};
  window.onemap.screenScale = function () { return Math.max(1, Math.min(2.5, window.innerWidth / 1920)); };
  // command.css sizes the marker glyphs with this variable.
  document.documentElement.style.setProperty("--marker-scale", String(window.onemap.screenScale()));
})();
