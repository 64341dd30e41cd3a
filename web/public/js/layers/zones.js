// The no-fly and danger zones: solid while in force, dashed otherwise, with
// a tooltip of their kind, heights and hours.
import { esc, fmtTime } from "../format.js";
import { label, localName, t } from "../i18n.js";
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
  const when = p.permanent ? t("zone.permanent") :
    `${p.active_from ? fmtTime(p.active_from) : "…"} – ${p.active_until ? fmtTime(p.active_until) : "…"}`;
  const name = localName(state.config, "zones", p.id, p.name);
  return `<b>${esc(name)}</b><br>${esc(t("zone.band", { kind: label("zkind", p.kind), floor: p.floor_m, ceiling: p.ceiling_m, when }))}` +
    `<br>${esc(t(p.active_now ? "zone.in_force" : "zone.not_in_force"))}${p.rescue_exempt ? esc(t("zone.rescue")) : ""}`;
}
