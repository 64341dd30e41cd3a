// The hangars: an "H" with the place's name beside it (in Chinese where the
// configuration gives `name_zh` and the page is in Chinese), and a tooltip
// of the drones based there.
import { esc, shortPlace } from "../format.js";
import { localName, t } from "../i18n.js";
import { state, subscribe } from "../state.js";
import { droneStateLabel } from "../status.js";

function hangarName(h) {
  return localName(state.config, "hangars", h.id, h.name);
}

export function addHangarsLayer(map) {
  const layer = L.layerGroup().addTo(map);
  const render = () => {
    layer.clearLayers();
    for (const h of state.hangars) {
      const m = L.marker([h.position.lat, h.position.lon], {
        icon: L.divIcon({ className: "hangar-icon", html: "H", iconSize: [18, 18] }),
        keyboard: false,
        // A click on the "H" is also the map's: it selects a drone docked
        // there (the drones' canvas takes no clicks), as anywhere else.
        bubblingMouseEvents: true,
      });
      m.bindTooltip(() => hangarLabel(h));
      L.tooltip({ permanent: true, direction: "right", offset: [10, 0], className: "place-label", interactive: false })
        .setLatLng([h.position.lat, h.position.lon])
        .setContent(esc(shortPlace(hangarName(h))))
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
  const rows = here.map((d) => esc(t("hangar.drone", { drone: d.id, state: droneStateLabel(d.state), pct: Math.round(d.battery ?? 0) }))).join("<br>");
  return `<b>${esc(hangarName(h))}</b><br>${rows || esc(t("hangar.no_drones"))}`;
}
