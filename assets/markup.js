/* The one place where text becomes tooltip / label HTML in the browser (issue #14, finding 5).
 * Leaflet inserts tooltip strings and divIcon html as HTML, so every piece of data goes through text();
 * the only tags added are this file's own <b> and <br>. The server side twin is dashboard/markup.py. */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  var ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};

  function text(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; });
  }

  function line(parts) {
    if (!Array.isArray(parts)) { return text(parts); }
    return parts.filter(function (p) { return p != null && p !== ""; }).map(text).join(" · ");
  }

  /* A bold title (if any) and lines; a line that is an array is joined with " · ". */
  function tooltip(title, lines) {
    var rows = title == null ? [] : ["<b>" + text(title) + "</b>"];
    (lines || []).forEach(function (l) { if (l != null) { rows.push(line(l)); } });
    return rows.join("<br>");
  }

  window.onemap.markup = {text: text, line: line, tooltip: tooltip};
})();
