// The shared view (/share/<token>): one incident or one drone, live, read
// only, with no login. The token is the page's own address; the PIN, if
// the share has one, is asked for and kept in memory only. State comes
// from /api/share/<token>, live updates from /ws/share/<token>, which the
// server closes with 4403 when the share is revoked and 4410 when it
// expires; the page then says so and stops. Where the socket is not
// served (a follower of a cluster) the state is asked for again every 5 s.
// Times are in the scenario's time zone (the view's `time_zone`); the page
// speaks the viewer's language (i18n.js, switchable like the map's); a
// shared drone with a camera plays its live video through the server's
// relay for this share (/api/share/<token>/drones/<id>/video), which the
// server ends when the share is revoked or expires.
import { leafletLoaded } from "./assets.js";
import { esc, fmtTime, kindLabel, setTimeZone } from "./format.js";
import { applyStatic, switchLang, t } from "./i18n.js";
import { addBasemap } from "./layers/basemap.js";
import { droneStateColour, droneStateLabel, incidentColour, isTerminal, linkLabel, statusLabel } from "./status.js";

const token = location.pathname.split("/").filter(Boolean).pop() ?? "";
const CLOSED = { 4403: "sv.revoked", 4410: "sv.expired", 4404: "sv.gone" };
const POLL_MS = 5000;

const view = { pin: null, shared: null, incident: null, drones: new Map(), closed: null, socket: null, poll: null };
let map = null;
const layer = { route: null, back: null, scene: null, drones: new Map(), trails: new Map() };

// For the browser test and the curious: what the page shows.
window.sharedView = {
  get drones() { return [...view.drones.keys()]; },
  get incident() { return view.incident; },
  get closed() { return view.closed; },
  get live() { return view.socket?.readyState === WebSocket.OPEN; },
  get markers() { return [...layer.drones.keys()]; },
  get video() { return document.querySelector("#share-video img")?.src ?? null; },
};

start();

async function start() {
  applyStatic();
  document.title = t("sv.page_title");
  document.getElementById("lang").addEventListener("click", switchLang);
  document.getElementById("pin").querySelector("form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    view.pin = document.getElementById("pin-input").value.trim();
    load();
  });
  await load();
}

// The view's state; on success the map and the socket.
async function load() {
  let r;
  try {
    r = await fetch(`/api/share/${encodeURIComponent(token)}${view.pin ? `?pin=${encodeURIComponent(view.pin)}` : ""}`);
  } catch (e) {
    banner(t("sv.no_answer", { reason: e.message }), "info");
    setTimeout(load, POLL_MS);
    return;
  }
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    refused(r.status, data?.error?.code, data?.error?.message);
    return;
  }
  document.getElementById("pin").hidden = true;
  banner(null);
  show(data);
  if (!view.socket && !view.poll) connect();
}

function refused(status, code, message) {
  const pinBox = document.getElementById("pin");
  if (code === "pin_required" || code === "wrong_pin" || code === "pin_locked") {
    pinBox.hidden = false;
    document.getElementById("pin-error").textContent = code === "pin_required" ? "" : message ?? "";
    return;
  }
  pinBox.hidden = true;
  const text = status === 403 ? t(CLOSED[4403]) : status === 410 ? t(CLOSED[4410]) : status === 404
    ? t("sv.unknown") : t("sv.cannot_open", { reason: message ?? `HTTP ${status}` });
  close(text);
}

// Ends the view: the banner says why, nothing is shown live any more.
function close(text) {
  view.closed = text;
  banner(text);
  setConn("sv.conn_closed", false);
  stopVideo();
  clearInterval(view.poll);
  view.poll = null;
  if (view.socket && view.socket.readyState <= WebSocket.OPEN) view.socket.close();
  view.socket = null;
}

function connect() {
  const url = `${location.origin.replace(/^http/, "ws")}/ws/share/${encodeURIComponent(token)}${view.pin ? `?pin=${encodeURIComponent(view.pin)}` : ""}`;
  const ws = new WebSocket(url);
  let opened = false;
  view.socket = ws;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "share") { opened = true; setConn("sv.conn_live", true); show(msg.view); }
    else if (msg.type === "telemetry") msg.drones.forEach(telemetry);
    else if (msg.type === "incident" && msg.incident?.id != null) { view.incident = msg.incident; showIncident(); showVideo(); }
    else if (msg.type === "drone") { const d = view.drones.get(msg.drone); if (d) { d.state = msg.state; showDrone(d); } }
  };
  ws.onclose = (ev) => {
    view.socket = null;
    if (view.closed) return;
    if (CLOSED[ev.code]) { close(t(CLOSED[ev.code])); return; }
    if (!opened) {
      // No live socket here: follow the state by asking for it.
      setConn("sv.conn_polling", true);
      view.poll ??= setInterval(refresh, POLL_MS);
      return;
    }
    setConn("sv.conn_reconnecting", false);
    setTimeout(() => { if (!view.closed) load(); }, 1000);
  };
}

async function refresh() {
  const r = await fetch(`/api/share/${encodeURIComponent(token)}${view.pin ? `?pin=${encodeURIComponent(view.pin)}` : ""}`).catch(() => null);
  if (!r) return;
  const data = await r.json().catch(() => null);
  if (!r.ok) refused(r.status, data?.error?.code, data?.error?.message);
  else show(data);
}

function show(v) {
  if (v.time_zone) setTimeZone(v.time_zone);
  view.shared = v.shared;
  document.getElementById("title").textContent = t(v.shared === "drone" ? "sv.title_drone" : "sv.title_incident");
  document.getElementById("expires").textContent = t("sv.until", { time: fmtTime(v.expires_at) });
  view.incident = v.incident;
  const seen = new Set(v.drones.map((d) => d.id));
  for (const id of [...view.drones.keys()]) if (!seen.has(id)) dropDrone(id);
  for (const d of v.drones) {
    const cur = view.drones.get(d.id) ?? { trail: [] };
    view.drones.set(d.id, Object.assign(cur, d));
  }
  ensureMap(v);
  showIncident();
  for (const d of view.drones.values()) showDrone(d);
  showVideo();
}

// The live video of the shared drone, or of the drone serving the shared
// incident while it does, when it has a camera; kept playing across updates.
function showVideo() {
  const box = document.getElementById("share-video");
  if (view.closed) return;
  // An incident's share films with the drone serving it while it does.
  const i = view.incident;
  const films = (x) => view.shared === "drone" || (i && !isTerminal(i.status) && i.drone === x.id);
  const d = [...view.drones.values()].find((x) => x.camera && films(x));
  if (!d) { stopVideo(); return; }
  if (box.dataset.drone === d.id) return;
  stopVideo();
  box.dataset.drone = d.id;
  const q = view.pin ? `?pin=${encodeURIComponent(view.pin)}` : "";
  box.innerHTML = `<img class="video" alt="${esc(t("video.alt", { id: d.id }))}" width="640" height="360">
    <div class="video-caption">${esc(d.id)} &middot; ${esc(t("video.live"))}</div>`;
  const img = box.querySelector("img");
  const caption = box.querySelector(".video-caption");
  // An image taken off the page (stopVideo) errors too: not the camera.
  img.addEventListener("error", () => {
    if (!view.closed && img.isConnected) caption.textContent = t("video.no_answer", { id: d.id });
  });
  img.src = `/api/share/${encodeURIComponent(token)}/drones/${encodeURIComponent(d.id)}/video${q}`;
}

function stopVideo() {
  const box = document.getElementById("share-video");
  box.querySelector("img")?.removeAttribute("src");
  box.innerHTML = "";
  delete box.dataset.drone;
}

function telemetry(e) {
  let d = view.drones.get(e.drone);
  if (!d) {
    // A drone newly serving the shared incident.
    d = { id: e.drone, name: e.drone, state: "", trail: [] };
    view.drones.set(e.drone, d);
  }
  Object.assign(d, { lat: e.lat, lon: e.lon, alt_m: e.alt_m, heading_deg: e.heading_deg, ground_speed_mps: e.ground_speed_mps,
    battery_pct: e.battery_pct, mode: e.mode, armed: e.armed, link: e.link });
  showDrone(d);
}

function ensureMap(v) {
  if (map || !leafletLoaded()) return;
  map = L.map("map", { zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false);
  addBasemap(map);
  const pts = [];
  if (v.incident) pts.push([v.incident.position.lat, v.incident.position.lon]);
  for (const d of v.drones) pts.push([d.lat, d.lon]);
  if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.6), { maxZoom: 14 });
  else map.setView([30.4, 120.6], 10);
  new ResizeObserver(() => map.invalidateSize()).observe(map.getContainer());
}

function showIncident() {
  const i = view.incident;
  const box = document.getElementById("share-incident");
  if (!i) { box.hidden = true; return; }
  box.hidden = false;
  document.getElementById("incident-title").textContent = t("sv.incident_title", { id: i.id, kind: kindLabel(i.kind) });
  const dt = (k) => `<dt>${esc(t(`sv.${k}`))}</dt>`;
  document.getElementById("incident-facts").innerHTML =
    `${dt("status")}<dd class="st-${esc(i.status)}">${esc(statusLabel(i.status))}</dd>` +
    `${dt("reported")}<dd>${esc(fmtTime(i.reported_at))}</dd>` +
    `${dt("drone")}<dd>${esc(i.drone ?? t("sv.none"))}</dd>` +
    (i.eta && !isTerminal(i.status) ? `${dt("eta")}<dd>${esc(fmtTime(i.eta))}</dd>` : "");
  document.getElementById("timeline").innerHTML = i.timeline
    .map((e) => `<li><small>${esc(fmtTime(e.at))}</small> <b>${esc(statusLabel(e.status))}</b> <span class="srv">${esc(e.note)}</span></li>`).join("");
  if (!map) return;
  const latlngs = (line) => (line?.coordinates ?? []).map(([lon, lat]) => [lat, lon]);
  layer.route?.remove();
  layer.back?.remove();
  layer.scene?.remove();
  layer.route = i.route ? L.polyline(latlngs(i.route), { color: "#1a5fb4", weight: 3 }).addTo(map) : null;
  layer.back = i.return_route ? L.polyline(latlngs(i.return_route), { color: "#1a5fb4", weight: 2, dashArray: "6 6" }).addTo(map) : null;
  layer.scene = L.circleMarker([i.position.lat, i.position.lon], { radius: 9, color: "#fff", weight: 2,
    fillColor: incidentColour(i.status), fillOpacity: 1 }).bindTooltip(kindLabel(i.kind)).addTo(map);
}

function showDrone(d) {
  const list = document.getElementById("drone-facts");
  list.innerHTML = [...view.drones.values()].map((x) =>
    `<li><b>${esc(x.id)}</b> ${esc(x.state ? droneStateLabel(x.state) : "")}, <span class="srv">${esc(x.mode ?? "")}</span>${x.armed ? esc(t("sv.armed")) : ""}<br>` +
    `<small>${esc(t("sv.drone_line", { alt: Math.round(x.alt_m ?? 0), speed: (x.ground_speed_mps ?? 0).toFixed(1), battery: Math.round(x.battery_pct ?? 0), link: x.link ? linkLabel(x.link) : "" }))}</small></li>`).join("");
  if (!map || d.lat == null) return;
  const at = [d.lat, d.lon];
  const last = d.trail[d.trail.length - 1];
  if (!last || last[0] !== at[0] || last[1] !== at[1]) d.trail.push(at);
  if (d.trail.length > 2000) d.trail.shift();
  const colour = d.link === "lost" ? "#111" : droneStateColour(d.state, "#1a5fb4");
  const html = `<svg width="24" height="24" style="transform: rotate(${Math.round(d.heading_deg ?? 0)}deg)">` +
    `<path d="M12 2 L19 21 L12 16 L5 21 Z" fill="${colour}" stroke="#fff" stroke-width="1.5"/></svg>`;
  let m = layer.drones.get(d.id);
  if (!m) {
    m = L.marker(at, { title: d.id, keyboard: false }).bindTooltip(d.id, { permanent: true, direction: "right", className: "place-label" }).addTo(map);
    layer.drones.set(d.id, m);
  }
  m.setLatLng(at);
  m.setIcon(L.divIcon({ className: "share-drone", html, iconSize: [24, 24], iconAnchor: [12, 12] }));
  let trail = layer.trails.get(d.id);
  if (!trail) { trail = L.polyline([], { color: "rgba(26,95,180,.6)", weight: 2 }).addTo(map); layer.trails.set(d.id, trail); }
  trail.setLatLngs(d.trail);
}

function dropDrone(id) {
  view.drones.delete(id);
  layer.drones.get(id)?.remove();
  layer.drones.delete(id);
  layer.trails.get(id)?.remove();
  layer.trails.delete(id);
}

function banner(text, kind = "error") {
  const b = document.getElementById("share-banner");
  b.hidden = !text;
  b.className = kind === "info" ? "info" : "";
  b.textContent = text ?? "";
}

function setConn(key, ok) {
  const c = document.getElementById("conn");
  c.textContent = t(key);
  c.classList.toggle("live", ok);
}
