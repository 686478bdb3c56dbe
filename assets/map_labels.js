/* Place-name labels on the maps (issue #15, item 7): a street's name at its label point, centred on it.
 * Text goes into the label only through assets/markup.js (looked up at call time); the label takes no clicks,
 * and markers stay above it (zIndexOffset) so a team or a site is never hidden under a name.
 * Sizes come from CSS (.street-label in assets/wall.css), so the wall theme scales them with the screen. */
(function () {
  "use strict";
  window.onemap = window.onemap || {};

  function label(className, name) {
    return L.divIcon({className: className, iconSize: null,
                      html: "<span class=\"label-text\">" + window.onemap.markup.text(name) + "</span>"});
  }

  window.onemap.labels = {
    /* pointToLayer of a GeoJSON of label points with properties {code, name} */
    streetLabel: function (feature, latlng) {
      return L.marker(latlng, {icon: label("street-label", feature.properties.name), interactive: false,
                               keyboard: false, zIndexOffset: -1000});
    }
  };
})();
