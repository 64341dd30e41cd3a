// The offline basemap: sea and estuary polygons built by `npm run build`,
// drawn under everything else, and the districts' and counties' boundaries
// as thin lines, with their (Chinese) names from city zoom on. Without it
// the map says so in its attribution (and assets.js in its banner).
import { loadBasemap } from "../assets.js";
import { esc } from "../format.js";
import { t } from "../i18n.js";

// From this zoom on the districts carry their names (at the region's zoom
// they would cover the hangars' labels).
const LABEL_ZOOM = 11;

export function addBasemap(map) {
  loadBasemap().then((fc) => {
    L.geoJSON(fc, {
      interactive: false,
      style: (f) => (f.properties.layer === "district"
        ? { color: "#7d8794", weight: 1, opacity: 0.7, dashArray: "5 4", fill: false }
        : { stroke: false, fillColor: "#a9cbe8", fillOpacity: 1 }),
    }).addTo(map).bringToBack();
    addDistrictLabels(map, fc.features.filter((f) => f.properties.layer === "district" && f.properties.label_at));
    map.attributionControl.addAttribution(fc.attribution ?? "© OpenStreetMap contributors");
  }).catch(() => map.attributionControl.addAttribution(t("basemap.unavailable")));
}

// In a pane of their own under the zones and markers: a hangar's label
// stays readable where a district's name falls on it.
function addDistrictLabels(map, districts) {
  const pane = map.createPane("districtLabels");
  pane.style.zIndex = 390;
  pane.style.pointerEvents = "none";
  const labels = L.layerGroup();
  for (const f of districts) {
    const [lon, lat] = f.properties.label_at;
    // A little south of the district's centre, which is often its seat, where
    // a hangar stands with its own label.
    L.tooltip({ permanent: true, direction: "center", offset: [0, 24], className: "district-label", interactive: false, pane: "districtLabels" })
      .setLatLng([lat, lon]).setContent(esc(f.properties.name_zh)).addTo(labels);
  }
  const show = () => {
    if (map.getZoom() >= LABEL_ZOOM) labels.addTo(map);
    else labels.remove();
  };
  map.on("zoomend", show);
  show();
}
