// The no-fly and danger zones: solid while in force, dashed otherwise, with
// a tooltip of their kind, heights and hours.
import { esc, fmtTime } from "../format.js";
import { state, subscribe } from "../state.js";

export function addZonesLayer(map) {
  const layer = L.geoJSON(null, {
    style: zoneStyle,
    onEachFeature: (f, l) => l.bindTooltip(zoneLabel(f.properties), { sticky: true }),
  }).addTo(map);
  const render = () => {
    layer.clearLayers();
    if (state.zones) layer.addData(state.zones);
  };
  subscribe("zones", render);
  render();
  return layer;
}

function zoneStyle(f) {
  const p = f.properties;
  const colour = p.permanent ? "#c62828" : "#e8590c";
  return p.active_now
    ? { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.22 }
    : { color: colour, weight: 1.5, dashArray: "6 5", fillOpacity: 0.03 };
}

function zoneLabel(p) {
  const when = p.permanent ? "permanent" :
    `${p.active_from ? fmtTime(p.active_from) : "…"} – ${p.active_until ? fmtTime(p.active_until) : "…"}`;
  return `<b>${esc(p.name)}</b><br>${esc(p.kind)}, ${p.floor_m}–${p.ceiling_m} m, ${when}` +
    `<br>${p.active_now ? "in force now" : "not in force now"}${p.rescue_exempt ? ", rescue flights may enter" : ""}`;
}
