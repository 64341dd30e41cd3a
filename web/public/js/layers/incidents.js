// The incidents: a red dot while open, a green one for an ended incident
// while it is selected (ended ones are otherwise left off). A click selects.
import { esc, kindLabel } from "../format.js";
import { selectIncident, state, subscribe } from "../state.js";
import { incidentColour, isTerminal, statusLabel } from "../status.js";

export function addIncidentsLayer(map) {
  const layer = L.layerGroup().addTo(map);
  const render = () => {
    layer.clearLayers();
    for (const i of state.incidents.values()) {
      if (isTerminal(i.status) && i.id !== state.selectedIncident) continue;
      L.circleMarker([i.position.lat, i.position.lon], { radius: 8, color: "#fff", weight: 2, fillColor: incidentColour(i.status), fillOpacity: 0.95 })
        .bindTooltip(`#${i.id} ${esc(kindLabel(i.kind))}: ${esc(statusLabel(i.status))}`)
        .on("click", (ev) => { L.DomEvent.stopPropagation(ev); selectIncident(i.id); })
        .addTo(layer);
    }
  };
  subscribe(["incidents", "selection"], render);
  render();
  return layer;
}
