// The Leaflet map: made once after login, fitted to the scenario's region,
// with its layers in drawing order and the click popup. Without Leaflet (its
// files not built, see assets.js) there is no map: startMap returns null and
// the functions here do nothing, so the rest of the page still works.
import { leafletLoaded } from "./assets.js";
import { addBasemap } from "./layers/basemap.js";
import { addDronesLayer } from "./layers/drones.js";
import { addHangarsLayer } from "./layers/hangars.js";
import { addIncidentsLayer } from "./layers/incidents.js";
import { addRoutesLayer } from "./layers/routes.js";
import { addWindLayer } from "./layers/wind.js";
import { addTrafficLayer } from "./layers/traffic.js";
import { addZonesLayer } from "./layers/zones.js";
import { attachReportPopup } from "./popup.js";

let map = null;
export const layers = { zones: null, routes: null, incidents: null, hangars: null, wind: null, drones: null, traffic: null };

export function startMap(config) {
  if (map || !leafletLoaded()) return map;
  const r = config.region;
  map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
  map.fitBounds([[r.min_lat, r.min_lon], [r.max_lat, r.max_lon]]);
  map.attributionControl.setPrefix(false);
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution ?? "" }).addTo(map);
  }
  addBasemap(map);
  layers.zones = addZonesLayer(map);
  layers.routes = addRoutesLayer(map);
  layers.incidents = addIncidentsLayer(map);
  layers.hangars = addHangarsLayer(map);
  layers.wind = addWindLayer(map);
  layers.drones = addDronesLayer(map);
  layers.traffic = addTrafficLayer(map);
  attachReportPopup(map, layers.drones);
  // Leaflet follows the window's size; this also catches the map's own box
  // changing (the missing-files banner appearing above it).
  new ResizeObserver(() => map.invalidateSize()).observe(map.getContainer());
  return map;
}

export function getMap() {
  return map;
}

export function panTo(lat, lon) {
  map?.panTo([lat, lon]);
}
