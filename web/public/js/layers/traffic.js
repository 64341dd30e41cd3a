// Manned traffic (ADS-B via the drones, the ground receiver's SBS-1 feed):
// one symbol per aircraft by its emitter type, turned to its track, with
// its callsign, altitude, speed and age beside it. Tracks past half their
// maximum age are drawn faded; the server drops them at their maximum age.
import { esc } from "../format.js";
import { t } from "../i18n.js";
import { state, subscribe } from "../state.js";

// Emitter type -> symbol (text, so no image files are needed).
const SYMBOL = {
  light: "✈", small: "✈", large: "✈", heavy: "✈", ultralight: "✈",
  rotorcraft: "✢", glider: "⌃", lighter_than_air: "◯", parachute: "☂", uav: "◆",
  other: "■", unknown: "✈",
};

export function trafficSymbol(emitter) {
  return SYMBOL[emitter] ?? SYMBOL.unknown;
}

export function trafficLabel(tr) {
  const alt = tr.alt_m != null ? `${Math.round(tr.alt_m)} m` : t("traffic.alt_unknown");
  return `${esc(tr.callsign ?? tr.icao)} ${esc(alt)} ${Math.round(tr.ground_speed_mps)} m/s ${Math.round(tr.age_s)} s`;
}

export function addTrafficLayer(map) {
  const layer = L.layerGroup().addTo(map);
  const render = () => {
    layer.clearLayers();
    for (const t of state.traffic.tracks) {
      if (t.lat == null || t.lon == null) continue;
      const held = state.traffic.heldLaunches.some((h) => h.aircraft === (t.callsign ?? t.icao))
        || state.traffic.heldDrones.some((h) => h.aircraft === (t.callsign ?? t.icao));
      const cls = `traffic-icon${t.stale ? " stale" : ""}${held ? " conflict" : ""}`;
      const m = L.marker([t.lat, t.lon], {
        icon: L.divIcon({
          className: cls,
          html: `<span style="transform: rotate(${Math.round(t.track_deg) - 45}deg)">${trafficSymbol(t.emitter)}</span>`,
          iconSize: [20, 20],
        }),
        keyboard: false,
        opacity: t.stale ? 0.45 : 1,
      });
      m.bindTooltip(trafficLabel(t), { permanent: true, direction: "right", offset: [10, 0], className: `traffic-label${t.stale ? " stale" : ""}` });
      m.addTo(layer);
    }
  };
  subscribe("traffic", render);
  render();
  return layer;
}
