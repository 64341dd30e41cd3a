// The hangars: an "H" with the place's name beside it, and a tooltip of the
// drones based there.
import { esc } from "../format.js";
import { state, subscribe } from "../state.js";

export function addHangarsLayer(map) {
  const layer = L.layerGroup().addTo(map);
  const render = () => {
    layer.clearLayers();
    for (const h of state.hangars) {
      const m = L.marker([h.position.lat, h.position.lon], {
        icon: L.divIcon({ className: "hangar-icon", html: "H", iconSize: [18, 18] }),
        keyboard: false,
      });
      m.bindTooltip(() => hangarLabel(h));
      L.tooltip({ permanent: true, direction: "right", offset: [10, 0], className: "place-label", interactive: false })
        .setLatLng([h.position.lat, h.position.lon])
        .setContent(esc(h.name.split(/[,(]/)[0].trim()))
        .addTo(layer);
      m.addTo(layer);
    }
  };
  subscribe("hangars", render);
  render();
  return layer;
}

function hangarLabel(h) {
  const here = [...state.drones.values()].filter((d) => d.hangar === h.id);
  const rows = here.map((d) => `${esc(d.id)}: ${esc(d.state)}, ${Math.round(d.battery ?? 0)}%`).join("<br>");
  return `<b>${esc(h.name)}</b><br>${rows || "no drones"}`;
}
