// The offline basemap: sea and estuary polygons built by `npm run build`,
// drawn under everything else. Without it the map says so in its attribution
// (and assets.js in its banner).
import { loadBasemap } from "../assets.js";
import { t } from "../i18n.js";

export function addBasemap(map) {
  loadBasemap().then((fc) => {
    L.geoJSON(fc, {
      interactive: false,
      style: () => ({ stroke: false, fillColor: "#a9cbe8", fillOpacity: 1 }),
    }).addTo(map).bringToBack();
    map.attributionControl.addAttribution(fc.attribution ?? "© OpenStreetMap contributors");
  }).catch(() => map.attributionControl.addAttribution(t("basemap.unavailable")));
}
