// The page's state and the one place where it changes. The socket and the
// HTTP handlers call the update functions below; map layers and panels
// subscribe to topics and re-render. Topics: session, view, clock,
// connection, snapshot, drones, incidents (detail: the incident's id, or
// null for all), zones, hangars, wind (the hangars' wind), alerts, selection, traffic,
// server (which server of a cluster the page talks to), stills (detail:
// the incident's id), sheet (on a phone,
// whether the side panel's bottom sheet is open).
import { isTerminal } from "./status.js";

const TRAIL = 120; // positions kept per drone for its track on the map
const ALERTS = 200; // alerts kept, newest first
const ROLE_RANK = { viewer: 0, dispatcher: 1, admin: 2 };

const data = {
  config: null, role: "viewer",
  drones: new Map(), hangars: [], incidents: new Map(), zones: null, alerts: [],
  hangarWind: [], // GET /api/wind's `hangars`: { hangar, position, wind: null | estimate }
  droneEvents: new Map(), // drone id -> its story (vehicle texts, command outcomes), newest first
  selectedDrone: null, selectedIncident: null, view: "dispatch",
  sheetOpen: false, // on a phone: the side panel's bottom sheet is up
  lastTime: null, telemetryMessages: 0, live: false,
  server: null, // the server in use: { origin, node, role, leader, up }
  // Manned aircraft and what the fleet holds for them (the `traffic` message).
  traffic: { tracks: [], heldLaunches: [], heldDrones: [] },
  // Incident id -> its stills (GET /api/incidents/ID/stills, then the
  // `still` messages), oldest first.
  stills: new Map(),
};

// Read it anywhere; assigning to it outside this module throws.
export const state = new Proxy(data, {
  set() { throw new TypeError("the state changes only through state.js's update functions"); },
  deleteProperty() { throw new TypeError("the state changes only through state.js's update functions"); },
});

const subscribers = new Map();

// Calls `fn(topic, detail)` after every change of the given topic(s).
export function subscribe(topics, fn) {
  for (const t of [].concat(topics)) {
    if (!subscribers.has(t)) subscribers.set(t, []);
    subscribers.get(t).push(fn);
  }
}

// A subscriber that throws does not keep the others from rendering; its
// error is rethrown on its own, so it still shows as a page error.
function emit(topic, detail = null) {
  for (const fn of subscribers.get(topic) ?? []) {
    try {
      fn(topic, detail);
    } catch (e) {
      queueMicrotask(() => { throw e; });
    }
  }
}

export function canDispatch() {
  return ROLE_RANK[data.role] >= ROLE_RANK.dispatcher;
}

// ---------- session and page ----------
export function setSession(config) {
  data.config = config;
  data.role = config.you.role;
  emit("session");
}

export function setView(view) {
  data.view = view;
  emit("view");
}

// On a phone, the side panel's bottom sheet up or down.
export function setSheet(open) {
  if (data.sheetOpen === open) return;
  data.sheetOpen = open;
  emit("sheet");
}

export function setClock(t) {
  data.lastTime = t;
  emit("clock");
}

// The server the page talks to: its origin, name and role in a cluster
// (null for a single server), and whether it answered its last health.
export function setServer(server) {
  data.server = server;
  emit("server");
}

export function setConnection(live, reason) {
  data.live = live;
  emit("connection", reason ?? null);
}

// ---------- from the websocket ----------
export function applySnapshot(m) {
  setClock(m.time);
  data.hangars = m.hangars;
  const old = data.drones;
  data.drones = new Map();
  for (const d of m.drones) {
    const prev = old.get(d.id);
    data.drones.set(d.id, {
      id: d.id, name: d.name, hangar: d.hangar, capabilities: d.capabilities, state: d.state,
      incident: d.incident, lat: d.lat, lon: d.lon, alt: d.alt_m, heading: d.heading_deg,
      speed: d.ground_speed_mps, battery: d.battery_pct, mode: d.mode, armed: d.armed,
      link: d.link.status, trail: prev ? prev.trail : [], trailPushed: prev ? prev.trailPushed : 0,
      wind: prev ? prev.wind : null, camera: d.camera ?? prev?.camera ?? null,
    });
  }
  data.incidents = new Map(m.incidents.map((i) => [i.id, i]));
  data.zones = m.zones;
  emit("zones");
  emit("hangars");
  emit("incidents");
  emit("drones");
  emit("snapshot");
}

// A batch of positions (and each vehicle's own wind estimate, null until it
// has one). While armed, a drone's new positions extend its
// track; `trailPushed` counts every position ever added, so a map layer can
// tell which ones are new since it last drew.
export function applyTelemetry(list) {
  data.telemetryMessages++;
  for (const t of list) {
    const d = data.drones.get(t.drone);
    if (!d) continue;
    const moved = d.lat !== t.lat || d.lon !== t.lon;
    Object.assign(d, {
      lat: t.lat, lon: t.lon, alt: t.alt_m, heading: t.heading_deg, speed: t.ground_speed_mps,
      battery: t.battery_pct ?? d.battery, mode: t.mode, armed: t.armed, link: t.link,
      wind: t.wind ?? null,
    });
    if (moved && t.armed) {
      d.trail.push([t.lat, t.lon]);
      d.trailPushed = (d.trailPushed ?? 0) + 1;
      if (d.trail.length > TRAIL) d.trail.shift();
    }
  }
  emit("drones");
}

// A drone changed state; back home its track is forgotten.
export function applyDroneState(id, droneState) {
  const d = data.drones.get(id);
  if (d) {
    d.state = droneState;
    if (droneState === "docked" || droneState === "charging") d.trail = [];
  }
  emit("drones");
}

export function applyIncidentEvent(m) {
  if (m.incident) data.incidents.set(m.incident.id, m.incident);
  const d = m.drone && data.drones.get(m.drone);
  if (d && m.incident) d.incident = isTerminal(m.incident.status) ? null : m.incident.id;
  emit("incidents", m.incident?.id ?? null);
}

// The traffic picture, once a second while there is any.
export function applyTraffic(m) {
  data.traffic = { tracks: m.tracks, heldLaunches: m.held_launches, heldDrones: m.held_drones };
  emit("traffic");
}

// Whether an incident's launch waits for manned traffic.
export function launchHeld(incident) {
  return data.traffic.heldLaunches.some((h) => h.incident === incident);
}

export function setZones(fc) {
  data.zones = fc;
  emit("zones");
}

// A line of a drone's own story: not an alert (those are warnings or worse).
export function addDroneEvent(drone, entry) {
  const list = data.droneEvents.get(drone) ?? [];
  list.unshift(entry);
  if (list.length > 30) list.pop();
  data.droneEvents.set(drone, list);
  emit("droneEvents", drone);
}

// A still kept for an incident (from the socket, or the snapshot button's
// answer: the same still twice is kept once).
// Stills that came before their incident's list was loaded: the list's
// GET may have read the log before they were written.
const earlyStills = new Map();
const byTime = (a, b) => Date.parse(a.t) - Date.parse(b.t);

export function addStill(s) {
  if (s.incident == null) return;
  const list = data.stills.get(s.incident);
  if (!list) {
    earlyStills.set(s.incident, [...(earlyStills.get(s.incident) ?? []), s]);
    return;
  }
  if (list.some((x) => x.id === s.id)) return;
  list.push(s);
  list.sort(byTime);
  emit("stills", s.incident);
}

// An incident's stills as GET /api/incidents/ID/stills answered, with any
// that came on the socket meanwhile.
export function setStills(incident, list) {
  const all = [...list];
  for (const s of earlyStills.get(incident) ?? []) if (!all.some((x) => x.id === s.id)) all.push(s);
  earlyStills.delete(incident);
  data.stills.set(incident, all.sort(byTime));
  emit("stills", incident);
}

export function addAlert(a) {
  data.alerts.unshift(a);
  if (data.alerts.length > ALERTS) data.alerts.pop();
  emit("alerts");
}

// ---------- from HTTP answers and clicks ----------
// The wind at each hangar, as GET /api/wind answered.
export function setHangarWind(hangars) {
  data.hangarWind = hangars;
  emit("wind");
}

// The incident as an API call answered it.
export function putIncident(incident) {
  data.incidents.set(incident.id, incident);
  emit("incidents", incident.id);
}

export function selectIncident(id) {
  data.selectedIncident = id;
  data.selectedDrone = null;
  emit("selection");
}

export function selectDrone(id) {
  data.selectedDrone = id;
  data.selectedIncident = null;
  emit("selection");
}
