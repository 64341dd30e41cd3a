// What the core's incident statuses and drone states mean to the page: which
// incident statuses are final, which a dispatcher may resolve, how a status
// is written and the colours of incidents and drones on the map. The only
// copy of these rules in the web map. (The list and the panel colour a
// status with the `.st-<status>` classes of style.css.)
import { label } from "./i18n.js";

// dispatch-core's `IncidentStatus::is_terminal`: nothing happens to the
// incident any more and it holds no drone.
const TERMINAL = new Set(["resolved", "cancelled", "failed"]);

export function isTerminal(status) {
  return TERMINAL.has(status);
}

// A drone over the scene or on its way back: the dispatcher may close it.
export function canResolve(status) {
  return status === "on_scene" || status === "returning";
}

// In the page's language (the API's `on_scene` is "on scene").
export function statusLabel(status) {
  return label("status", status);
}

// A drone state in the page's language.
export function droneStateLabel(droneState) {
  return label("dstate", droneState);
}

// A link status (up, degraded, lost, unknown) in the page's language.
export function linkLabel(status) {
  return label("link", status);
}

// The fill of an incident's marker on the map.
export function incidentColour(status) {
  return isTerminal(status) ? "#2e7d4f" : "#b3261e";
}

const DRONE_STATE_COLOURS = {
  docked: "#5f7f6a", charging: "#8a9a3a", preflight: "#b26a00", en_route: "#1a5fb4",
  on_scene: "#d9480f", returning: "#2e7d4f", landing: "#2e7d4f", lost: "#111",
  maintenance: "#7b3fa0",
};

// A drone state's colour, `fallback` for a state this page does not know.
export function droneStateColour(state, fallback) {
  return DRONE_STATE_COLOURS[state] ?? fallback;
}
