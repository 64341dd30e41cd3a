// The planned route of each open incident's drone: dashed while only
// proposed, thicker for the selected incident.
import { state, subscribe } from "../state.js";
import { isTerminal } from "../status.js";

export function addRoutesLayer(map) {
  const layer = L.layerGroup().addTo(map);
  const render = () => {
    layer.clearLayers();
    for (const i of state.incidents.values()) {
      if (!i.route || isTerminal(i.status)) continue;
      const sel = i.id === state.selectedIncident;
      L.geoJSON(i.route, { interactive: false, style: { color: "#1a5fb4", weight: sel ? 4 : 3, dashArray: i.status === "proposed" ? "8 6" : null, opacity: 0.85 } })
        .addTo(layer);
    }
  };
  subscribe(["incidents", "selection"], render);
  render();
  return layer;
}
