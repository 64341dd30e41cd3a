// How values are written on the page: scenario times, HTML escaping and the
// names of incident kinds.

const KIND_LABELS = {
  person_in_water: "Person in the water",
  spectator_in_danger_zone: "Spectator in a danger zone",
  tidal_surge_warning: "Tide surging over a viewing area",
  highrise_fire: "High-rise fire",
  forest_fire: "Forest fire",
  missing_person: "Missing person",
  patrol: "Patrol",
};

export function kindLabel(kind) {
  return KIND_LABELS[kind] ?? kind;
}

export function fmtTime(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
