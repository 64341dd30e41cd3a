// The dispatchers' and safety crews' map. Plain JavaScript on Leaflet (from
// npm, served under /vendor/leaflet). Live data comes over the websocket:
// a snapshot, then telemetry batches and events. Drones are drawn on one
// canvas, redrawn at most once per animation frame, so a thousand drones
// stay smooth; lists and tables refresh at most twice a second.
"use strict";

const KIND_LABELS = {
  person_in_water: "Person in the water",
  spectator_in_danger_zone: "Spectator in a danger zone",
  tidal_surge_warning: "Tide surging over a viewing area",
  highrise_fire: "High-rise fire",
  forest_fire: "Forest fire",
  missing_person: "Missing person",
  patrol: "Patrol",
};
const STATE_COLOURS = {
  docked: "#5f7f6a", charging: "#8a9a3a", preflight: "#b26a00", en_route: "#1a5fb4",
  on_scene: "#d9480f", returning: "#2e7d4f", landing: "#2e7d4f", lost: "#111",
  maintenance: "#7b3fa0",
};
const ROLE_RANK = { viewer: 0, dispatcher: 1, admin: 2 };
const TRAIL = 120;

const S = {
  token: null, role: "viewer", config: null, map: null,
  drones: new Map(), hangars: [], incidents: new Map(), alerts: [],
  zonesLayer: null, hangarLayer: null, incidentLayer: null, routeLayer: null,
  selectedDrone: null, selectedIncident: null, view: "dispatch",
  ws: null, wsRetry: 500, lastTime: null, telemetryMessages: 0,
};
window.dispatchMap = S; // for the browser test and for curious operators

// ---------- HTTP ----------
async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${S.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const e = new Error(data?.error?.message ?? `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return { status: r.status, data };
}

// ---------- login ----------
async function login(token) {
  S.token = token;
  try {
    const { data } = await api("GET", "/api/config");
    S.config = data;
    S.role = data.you.role;
    localStorage.setItem("dispatch-token", token);
    document.getElementById("login").hidden = true;
    document.getElementById("who").textContent = `${data.you.name} (${data.you.role})`;
    document.getElementById("title").textContent = data.scenario;
    start();
  } catch (e) {
    S.token = null;
    localStorage.removeItem("dispatch-token");
    document.getElementById("login").hidden = false;
    document.getElementById("login-error").textContent =
      e.status === 401 ? "Unknown token." : `Cannot log in: ${e.message}`;
  }
}

document.querySelector("#login form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  login(document.getElementById("token").value.trim());
});
document.getElementById("logout").addEventListener("click", () => {
  localStorage.removeItem("dispatch-token");
  location.reload();
});
for (const b of document.querySelectorAll("header nav button")) {
  b.addEventListener("click", () => setView(b.dataset.view));
}
function setView(v) {
  S.view = v;
  for (const b of document.querySelectorAll("header nav button")) b.classList.toggle("active", b.dataset.view === v);
  document.getElementById("dispatch-view").hidden = v !== "dispatch";
  document.getElementById("crew-view").hidden = v !== "crew";
  document.getElementById("reports-view").hidden = v !== "reports";
  renderSelected();
  if (v === "reports") loadReports();
  renderLists();
}

// ---------- map ----------
function start() {
  if (S.map) return;
  const r = S.config.region;
  const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25 });
  S.map = map;
  map.fitBounds([[r.min_lat, r.min_lon], [r.max_lat, r.max_lon]]);
  map.attributionControl.setPrefix(false);
  if (S.config.tile_url) {
    L.tileLayer(S.config.tile_url, { attribution: S.config.tile_attribution ?? "" }).addTo(map);
  }
  fetch("/basemap.geojson").then((r) => r.json()).then((fc) => {
    L.geoJSON(fc, {
      interactive: false,
      style: () => ({ stroke: false, fillColor: "#a9cbe8", fillOpacity: 1 }),
    }).addTo(map).bringToBack();
    map.attributionControl.addAttribution(fc.attribution ?? "© OpenStreetMap contributors");
  }).catch(() => map.attributionControl.addAttribution("basemap unavailable"));
  S.zonesLayer = L.geoJSON(null, {
    style: zoneStyle,
    onEachFeature: (f, l) => l.bindTooltip(zoneLabel(f.properties), { sticky: true }),
  }).addTo(map);
  S.routeLayer = L.layerGroup().addTo(map);
  S.incidentLayer = L.layerGroup().addTo(map);
  S.hangarLayer = L.layerGroup().addTo(map);
  S.droneLayer = new DroneLayer().addTo(map);
  map.on("click", onMapClick);
  connect();
  setInterval(renderLists, 500);
}

function zoneStyle(f) {
  const p = f.properties;
  const colour = p.permanent ? "#c62828" : "#e8590c";
  return p.active_now
    ? { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.22 }
    : { color: colour, weight: 1.5, dashArray: "6 5", fillOpacity: 0.03 };
}
function zoneLabel(p) {
  const when = p.permanent ? "permanent" :
    `${p.active_from ? fmtTime(p.active_from) : "…"} – ${p.active_until ? fmtTime(p.active_until) : "…"}`;
  return `<b>${esc(p.name)}</b><br>${esc(p.kind)}, ${p.floor_m}–${p.ceiling_m} m, ${when}` +
    `<br>${p.active_now ? "in force now" : "not in force now"}${p.rescue_exempt ? ", rescue flights may enter" : ""}`;
}

// All drones on one canvas over the map.
const DroneLayer = L.Layer.extend({
  onAdd(map) {
    // In its own pane (between the overlays and the tooltips), kept at the
    // container's top-left while the map pans, as Leaflet's renderers do.
    const pane = map.getPane("drones") ?? map.createPane("drones");
    pane.style.zIndex = 450;
    pane.style.pointerEvents = "none";
    this._canvas = L.DomUtil.create("canvas", "drone-canvas", pane);
    this._reset = () => this.resize();
    map.on("moveend zoomend resize viewreset", this._reset);
    map.on("move", this._reset);
    this.resize();
  },
  onRemove(map) {
    map.off("moveend zoomend resize viewreset", this._reset);
    map.off("move", this._reset);
    this._canvas.remove();
  },
  resize() {
    const size = this._map.getSize();
    const dpr = window.devicePixelRatio || 1;
    this._canvas.width = size.x * dpr;
    this._canvas.height = size.y * dpr;
    this._canvas.style.width = `${size.x}px`;
    this._canvas.style.height = `${size.y}px`;
    this.draw();
  },
  redraw() {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => { this._frame = null; this.draw(); });
  },
  draw() {
    const map = this._map, c = this._canvas;
    if (!map || !c) return;
    L.DomUtil.setPosition(c, map.containerPointToLayerPoint([0, 0]));
    const ctx = c.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const size = map.getSize();
    ctx.clearRect(0, 0, size.x, size.y);
    const labels = S.drones.size <= 60 || map.getZoom() >= 12;
    ctx.font = "11px system-ui, sans-serif";
    // Absolute pixel positions at this zoom are cached per trail point, so a
    // redraw only subtracts the view's origin (no projection per point).
    const zoom = map.getZoom();
    const origin = map.getPixelBounds().min;
    for (const d of S.drones.values()) {
      const selected = d.id === S.selectedDrone;
      if (d.trail.length > 1 && (d.armed || selected)) {
        if (d.trailZoom !== zoom || !d.trailPx || d.trailPx.length !== d.trail.length) {
          d.trailPx = d.trail.map(([la, lo]) => map.project([la, lo], zoom));
          d.trailZoom = zoom;
        }
        ctx.beginPath();
        d.trailPx.forEach((q, i) => {
          i ? ctx.lineTo(q.x - origin.x, q.y - origin.y) : ctx.moveTo(q.x - origin.x, q.y - origin.y);
        });
        ctx.strokeStyle = selected ? "rgba(26,95,180,.9)" : "rgba(26,95,180,.45)";
        ctx.lineWidth = selected ? 2.5 : 1.5;
        ctx.stroke();
      }
      const abs = map.project([d.lat, d.lon], zoom);
      const p = { x: abs.x - origin.x, y: abs.y - origin.y };
      if (p.x < -20 || p.y < -20 || p.x > size.x + 20 || p.y > size.y + 20) continue;
      const airborne = d.armed && d.alt > 1;
      const r = selected ? 10 : airborne ? 8 : 5;
      ctx.save();
      ctx.translate(p.x, p.y);
      ctx.rotate(((d.heading || 0) * Math.PI) / 180);
      ctx.beginPath();
      ctx.moveTo(0, -r);
      ctx.lineTo(r * 0.7, r * 0.8);
      ctx.lineTo(0, r * 0.4);
      ctx.lineTo(-r * 0.7, r * 0.8);
      ctx.closePath();
      ctx.fillStyle = d.link === "lost" ? "#111" : STATE_COLOURS[d.state] ?? "#1a5fb4";
      ctx.fill();
      ctx.lineWidth = selected ? 2 : 1;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      ctx.restore();
      if (labels && (airborne || selected)) {
        const text = `${d.id} ${Math.round(d.alt)} m ${Math.round(d.battery ?? 0)}%`;
        ctx.lineWidth = 3;
        ctx.strokeStyle = "rgba(255,255,255,.9)";
        ctx.strokeText(text, p.x + 11, p.y - 8);
        ctx.fillStyle = "#1d2733";
        ctx.fillText(text, p.x + 11, p.y - 8);
      }
    }
  },
  // The drone under a container point, if any.
  hit(pt) {
    let best = null, bestD = 14;
    for (const d of S.drones.values()) {
      const p = this._map.latLngToContainerPoint([d.lat, d.lon]);
      const dist = Math.hypot(p.x - pt.x, p.y - pt.y);
      if (dist < bestD) { best = d; bestD = dist; }
    }
    return best;
  },
});

// ---------- websocket ----------
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws?token=${encodeURIComponent(S.token)}&rate=5`);
  S.ws = ws;
  ws.onopen = () => { S.wsRetry = 500; setConn(true); };
  ws.onclose = (ev) => {
    setConn(false, ev.reason);
    setTimeout(connect, S.wsRetry);
    S.wsRetry = Math.min(S.wsRetry * 2, 10000);
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    switch (m.type) {
      case "snapshot": onSnapshot(m); break;
      case "telemetry": onTelemetry(m.drones); break;
      case "drone": onDroneEvent(m); break;
      case "incident": onIncidentEvent(m); break;
      case "zone": refreshZones(); addAlert({ severity: "info", t: m.t, message: `zone ${m.zone} ${m.change}` }); break;
      case "alert": addAlert(m); break;
      case "vehicle": addAlert({ severity: "info", t: m.t, drone: m.drone, message: m.text }); break;
      case "resync": ws.close(); break;
      default: break;
    }
    if (m.t) setClock(m.t);
  };
}
function setConn(live, reason) {
  const b = document.getElementById("conn");
  b.textContent = live ? "live" : reason ? `offline: ${reason}` : "offline";
  b.classList.toggle("live", live);
}
function setClock(t) {
  S.lastTime = t;
  document.getElementById("clock").textContent = `scenario time ${fmtTime(t)}`;
}

function onSnapshot(m) {
  setClock(m.time);
  S.hangars = m.hangars;
  const old = S.drones;
  S.drones = new Map();
  for (const d of m.drones) {
    const prev = old.get(d.id);
    S.drones.set(d.id, {
      id: d.id, name: d.name, hangar: d.hangar, capabilities: d.capabilities, state: d.state,
      incident: d.incident, lat: d.lat, lon: d.lon, alt: d.alt_m, heading: d.heading_deg,
      speed: d.ground_speed_mps, battery: d.battery_pct, mode: d.mode, armed: d.armed,
      link: d.link.status, trail: prev ? prev.trail : [],
    });
  }
  S.incidents = new Map(m.incidents.map((i) => [i.id, i]));
  S.zonesLayer.clearLayers();
  S.zonesLayer.addData(m.zones);
  renderHangars();
  renderIncidentsOnMap();
  S.droneLayer.redraw();
  renderLists(true);
}

function onTelemetry(list) {
  S.telemetryMessages++;
  for (const t of list) {
    const d = S.drones.get(t.drone);
    if (!d) continue;
    const moved = d.lat !== t.lat || d.lon !== t.lon;
    Object.assign(d, {
      lat: t.lat, lon: t.lon, alt: t.alt_m, heading: t.heading, speed: t.speed,
      battery: t.battery ?? d.battery, mode: t.mode, armed: t.armed, link: t.link,
    });
    if (moved && t.armed) {
      d.trail.push([t.lat, t.lon]);
      if (d.trail.length > TRAIL) d.trail.shift();
      if (d.trailPx && d.trailZoom === S.map.getZoom()) {
        d.trailPx.push(S.map.project([t.lat, t.lon], d.trailZoom));
        if (d.trailPx.length > d.trail.length) d.trailPx.shift();
      } else {
        d.trailPx = null;
      }
    }
  }
  S.droneLayer.redraw();
  S.listsDirty = true;
}

function onDroneEvent(m) {
  const d = S.drones.get(m.drone);
  if (d) {
    d.state = m.state;
    if (m.state === "docked" || m.state === "charging") d.trail = [];
  }
  if (["lost", "maintenance"].includes(m.state)) {
    addAlert({ severity: "warning", t: m.t, drone: m.drone, message: `${m.state}: ${m.note}` });
  }
  S.droneLayer.redraw();
  S.listsDirty = true;
}

function onIncidentEvent(m) {
  if (m.incident) S.incidents.set(m.incident.id, m.incident);
  const d = m.drone && S.drones.get(m.drone);
  if (d && m.incident) d.incident = ["resolved", "cancelled", "failed"].includes(m.incident.status) ? null : m.incident.id;
  renderIncidentsOnMap();
  S.listsDirty = true;
  if (S.selectedIncident === m.incident?.id) renderSelected();
}

async function refreshZones() {
  try {
    const { data } = await api("GET", "/api/zones");
    S.zonesLayer.clearLayers();
    S.zonesLayer.addData(data);
  } catch (e) { addAlert({ severity: "warning", message: `zones: ${e.message}` }); }
}

function addAlert(a) {
  S.alerts.unshift(a);
  if (S.alerts.length > 200) S.alerts.pop();
  S.listsDirty = true;
}

// ---------- map content ----------
function renderHangars() {
  S.hangarLayer.clearLayers();
  for (const h of S.hangars) {
    const m = L.marker([h.position.lat, h.position.lon], {
      icon: L.divIcon({ className: "hangar-icon", html: "H", iconSize: [18, 18] }),
      keyboard: false,
    });
    m.bindTooltip(() => hangarLabel(h));
    L.tooltip({ permanent: true, direction: "right", offset: [10, 0], className: "place-label", interactive: false })
      .setLatLng([h.position.lat, h.position.lon])
      .setContent(esc(h.name.split(/[,(]/)[0].trim()))
      .addTo(S.hangarLayer);
    m.addTo(S.hangarLayer);
  }
}
function hangarLabel(h) {
  const here = [...S.drones.values()].filter((d) => d.hangar === h.id);
  const rows = here.map((d) => `${esc(d.id)}: ${esc(d.state)}, ${Math.round(d.battery ?? 0)}%`).join("<br>");
  return `<b>${esc(h.name)}</b><br>${rows || "no drones"}`;
}

function renderIncidentsOnMap() {
  S.incidentLayer.clearLayers();
  S.routeLayer.clearLayers();
  for (const i of S.incidents.values()) {
    const ended = ["resolved", "cancelled", "failed"].includes(i.status);
    if (ended && i.id !== S.selectedIncident) continue;
    const colour = ended ? "#2e7d4f" : "#b3261e";
    L.circleMarker([i.position.lat, i.position.lon], { radius: 8, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95 })
      .bindTooltip(`#${i.id} ${esc(KIND_LABELS[i.kind] ?? i.kind)}: ${esc(i.status)}`)
      .on("click", (ev) => { L.DomEvent.stopPropagation(ev); selectIncident(i.id); })
      .addTo(S.incidentLayer);
    if (i.route && !ended) {
      const sel = i.id === S.selectedIncident;
      L.geoJSON(i.route, { interactive: false, style: { color: "#1a5fb4", weight: sel ? 4 : 3, dashArray: i.status === "proposed" ? "8 6" : null, opacity: 0.85 } })
        .addTo(S.routeLayer);
    }
  }
}

// ---------- clicks ----------
function onMapClick(ev) {
  const d = S.droneLayer.hit(ev.containerPoint);
  if (d) { selectDrone(d.id); return; }
  if (ROLE_RANK[S.role] < ROLE_RANK.dispatcher) return;
  const kinds = S.config.kinds.filter((k) => k.kind !== "patrol");
  const div = L.DomUtil.create("div", "popup");
  div.innerHTML = `<b>Report an incident</b><br>${ev.latlng.lat.toFixed(5)}, ${ev.latlng.lng.toFixed(5)}
    <select name="kind">${kinds.map((k) => `<option value="${k.kind}">${esc(KIND_LABELS[k.kind] ?? k.kind)}${k.auto_launch ? "" : " (confirm launch)"}</option>`).join("")}</select>
    <input name="note" placeholder="note (optional)" style="width:100%">
    <button class="primary" name="report">Report</button><div class="msg"></div>`;
  L.DomEvent.disableClickPropagation(div);
  const popup = L.popup({ minWidth: 240 }).setLatLng(ev.latlng).setContent(div).openOn(S.map);
  div.querySelector("[name=report]").addEventListener("click", async () => {
    const msg = div.querySelector(".msg");
    msg.textContent = "reporting…";
    try {
      const note = div.querySelector("[name=note]").value.trim();
      const { status, data } = await api("POST", "/api/incidents", {
        kind: div.querySelector("[name=kind]").value, lat: ev.latlng.lat, lon: ev.latlng.lng,
        ...(note ? { note } : {}), source: "map",
      });
      S.incidents.set(data.id, data);
      selectIncident(data.id);
      msg.innerHTML = status === 202 ? `<span class="error">Queued: ${esc(data.reason ?? "no drone can take it now")}</span>` : proposalText(data);
      if (data.status === "proposed") {
        const b = L.DomUtil.create("button", "primary", div);
        b.textContent = `Launch ${data.drone}`;
        b.addEventListener("click", () => launch(data.id, msg));
      }
      popup.update();
    } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  });
}

function proposalText(i) {
  const a = i.assignment;
  if (!a) return esc(i.status);
  return `<b>${esc(i.status === "proposed" ? "Proposed" : "Launched")}: ${esc(a.chosen.drone)}</b> from ${esc(a.chosen.hangar)}<br>
    ETA ${fmtTime(a.arrival_at)} (${Math.round(a.chosen.eta_s)} s), route ${(a.route.length_m / 1000).toFixed(1)} km<br>
    battery on landing ${Math.round(a.chosen.battery_on_landing_pct)}%` +
    (a.alternatives.length ? `<br>alternatives: ${a.alternatives.map((x) => `${esc(x.drone)} ${Math.round(x.eta_s)} s`).join(", ")}` : "");
}

async function launch(id, msg) {
  try {
    const { data } = await api("POST", `/api/incidents/${id}/dispatch`);
    S.incidents.set(data.id, data);
    if (msg) msg.innerHTML = proposalText(data);
    renderIncidentsOnMap();
  } catch (e) { if (msg) msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
}

function selectIncident(id) {
  S.selectedIncident = id;
  S.selectedDrone = null;
  renderIncidentsOnMap();
  renderSelected();
  S.listsDirty = true;
}
function selectDrone(id) {
  S.selectedDrone = id;
  S.selectedIncident = null;
  renderSelected();
  S.droneLayer.redraw();
  S.listsDirty = true;
}

// ---------- side panel ----------
function renderSelected() {
  const box = document.getElementById("selected");
  if (S.view === "reports") { box.hidden = true; return; }
  const canAct = ROLE_RANK[S.role] >= ROLE_RANK.dispatcher;
  if (S.selectedDrone) {
    const d = S.drones.get(S.selectedDrone);
    if (!d) { box.hidden = true; return; }
    box.hidden = false;
    box.innerHTML = `<b>Drone ${esc(d.id)}</b> <small>${esc(d.capabilities.join(", "))}</small>
      <dl>
        <dt>state</dt><dd data-f="state"></dd><dt>battery</dt><dd data-f="battery"></dd>
        <dt>altitude</dt><dd data-f="alt"></dd><dt>speed</dt><dd data-f="speed"></dd>
        <dt>mode</dt><dd data-f="mode"></dd><dt>link</dt><dd data-f="link"></dd><dt>task</dt><dd data-f="task"></dd>
      </dl>` + (canAct ? `<div class="buttons">
        ${["rtl", "land", "hold", "resume", "loudspeaker", "drop_payload"].map((a) => `<button data-a="${a}">${a.replace("_", " ")}</button>`).join("")}
      </div><div class="msg"></div>` : "");
    for (const b of box.querySelectorAll("button[data-a]")) {
      b.addEventListener("click", async () => {
        const msg = box.querySelector(".msg");
        msg.textContent = `${b.dataset.a}…`;
        try {
          const { data } = await api("POST", `/api/drones/${encodeURIComponent(d.id)}/command`, { action: b.dataset.a });
          msg.textContent = data.message;
        } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
      });
    }
    updateSelectedDrone();
    return;
  }
  if (S.selectedIncident) {
    const i = S.incidents.get(S.selectedIncident);
    if (!i) { box.hidden = true; return; }
    box.hidden = false;
    const ended = ["resolved", "cancelled", "failed"].includes(i.status);
    box.innerHTML = `<b>#${i.id} ${esc(KIND_LABELS[i.kind] ?? i.kind)}</b> <span class="st-${i.status}">${esc(i.status)}</span>
      <div class="msg">${i.drone ? `drone ${esc(i.drone)}` : esc(i.reason ?? "")}${i.eta ? `, ETA ${fmtTime(i.eta)}` : ""}${i.note ? `<br>${esc(i.note)}` : ""}${i.source ? `<br>from ${esc(i.source)}` : ""}</div>
      <ol>${i.timeline.map((e) => `<li>${fmtTime(e.at)} <b>${esc(e.status)}</b> ${esc(e.note)}</li>`).join("")}</ol>
      <div class="buttons"><button data-replay="1">time line &amp; replay</button></div><div class="replay"></div>` +
      (canAct && !ended ? `<div class="buttons">
        ${i.status === "proposed" ? '<button class="primary" data-a="dispatch">launch</button>' : ""}
        <button data-a="reassign">reassign</button><button data-a="cancel">cancel</button>
        ${["on_scene", "returning"].includes(i.status) ? '<button data-a="resolve">resolve</button>' : ""}
      </div><div class="msg act"></div>` : "");
    box.querySelector("[data-replay]").addEventListener("click", () => replay(i.id, box.querySelector(".replay")));
    for (const b of box.querySelectorAll("button[data-a]")) {
      b.addEventListener("click", async () => {
        const msg = box.querySelector(".act");
        try {
          const { data } = await api("POST", `/api/incidents/${i.id}/${b.dataset.a}`);
          S.incidents.set(data.id, data);
          renderIncidentsOnMap();
          renderSelected();
        } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
      });
    }
    return;
  }
  box.hidden = true;
}

function updateSelectedDrone() {
  const d = S.selectedDrone && S.drones.get(S.selectedDrone);
  if (!d) return;
  const box = document.getElementById("selected");
  const set = (f, v) => { const e = box.querySelector(`[data-f=${f}]`); if (e) e.textContent = v; };
  set("state", d.state);
  set("battery", `${Math.round(d.battery ?? 0)}%`);
  set("alt", `${(d.alt ?? 0).toFixed(1)} m`);
  set("speed", `${(d.speed ?? 0).toFixed(1)} m/s, heading ${Math.round(d.heading ?? 0)}°`);
  set("mode", `${d.mode}${d.armed ? ", armed" : ""}`);
  set("link", d.link);
  set("task", d.incident ? `incident #${d.incident}` : "none");
}

function renderLists(force) {
  if (!force && !S.listsDirty) return;
  S.listsDirty = false;
  updateSelectedDrone();
  if (S.view === "dispatch") {
    const ul = document.getElementById("incidents");
    const list = [...S.incidents.values()].sort((a, b) => b.id - a.id);
    ul.innerHTML = list.length ? "" : "<li>No incidents yet.</li>";
    for (const i of list) {
      const li = document.createElement("li");
      const ended = ["resolved", "cancelled", "failed"].includes(i.status);
      li.className = ended ? "ended" : "";
      li.dataset.incident = i.id;
      li.innerHTML = `<span class="status st-${i.status}">${esc(i.status)}</span>
        <b>#${i.id}</b> ${esc(KIND_LABELS[i.kind] ?? i.kind)}<br>
        <small>${i.drone ? `drone ${esc(i.drone)}` : esc(i.reason ?? "")}${i.eta && !ended ? ` · ETA ${fmtTime(i.eta)}` : ""} · ${fmtTime(i.reported_at)}</small>`;
      li.addEventListener("click", () => { selectIncident(i.id); S.map.panTo([i.position.lat, i.position.lon]); });
      ul.appendChild(li);
    }
  } else {
    const tbody = document.querySelector("#drones tbody");
    const rows = [...S.drones.values()];
    document.getElementById("drone-count").textContent =
      `${rows.filter((d) => d.armed).length} flying of ${rows.length}`;
    // Rows are made once per drone and only their changed cells are written.
    S.rows ??= new Map();
    for (const d of rows) {
      let tr = S.rows.get(d.id);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.drone = d.id;
        tr.innerHTML = "<td></td>".repeat(8);
        tr.addEventListener("click", () => {
          selectDrone(tr.dataset.drone);
          const x = S.drones.get(tr.dataset.drone);
          if (x) S.map.panTo([x.lat, x.lon]);
        });
        S.rows.set(d.id, tr);
        tbody.appendChild(tr);
      }
      const cells = tr.children;
      const vals = [d.id, d.state, d.mode, (d.alt ?? 0).toFixed(0), (d.speed ?? 0).toFixed(1),
        `${Math.round(d.battery ?? 0)}%`, d.link, d.incident ? `#${d.incident}` : ""];
      for (let i = 0; i < 8; i++) if (cells[i].textContent !== vals[i]) cells[i].textContent = vals[i];
      cells[1].style.color = STATE_COLOURS[d.state] ?? "#000";
      tr.classList.toggle("sel", d.id === S.selectedDrone);
    }
    for (const [id, tr] of S.rows) {
      if (!S.drones.has(id)) { tr.remove(); S.rows.delete(id); }
    }
    const ul = document.getElementById("alerts");
    ul.innerHTML = S.alerts.slice(0, 60).map((a) =>
      `<li class="${esc(a.severity ?? "info")}">${a.t ? fmtTime(a.t) : ""} ${a.drone ? `<b>${esc(a.drone)}</b> ` : ""}${esc(a.message ?? "")}</li>`).join("");
  }
}

// ---------- time line and track replay ----------
async function replay(id, box) {
  box.textContent = "loading…";
  let tl;
  try {
    tl = (await api("GET", `/api/incidents/${id}/timeline`)).data;
  } catch (e) { box.innerHTML = `<span class="error">${esc(e.message)}</span>`; return; }
  S.replayLayer ??= L.layerGroup().addTo(S.map);
  S.replayLayer.clearLayers();
  clearInterval(S.replayTimer);
  const points = tl.tracks.flatMap((t) => t.points.map((p) => ({ drone: t.drone, t: p[0], lat: p[1], lon: p[2], alt: p[3] })))
    .sort((a, b) => a.t.localeCompare(b.t));
  for (const t of tl.tracks) {
    if (t.points.length > 1) {
      L.polyline(t.points.map((p) => [p[1], p[2]]), { color: "#6a1b9a", weight: 3, opacity: 0.8, dashArray: "6 4" })
        .bindTooltip(`track of ${esc(t.drone)}`).addTo(S.replayLayer);
    }
  }
  const events = tl.events.filter((e) => e.event === "incident" || e.event === "alert" || e.event === "drone");
  const src = tl.source === "event_log" ? "from the event log" : "in memory (the server keeps no event log)";
  box.innerHTML = `<div class="msg">${tl.events.length} events ${src}, ${points.length} track points</div>` +
    (points.length ? `<div class="row"><button data-play>▶ play</button>
      <input type="range" min="0" max="${points.length - 1}" value="0" data-slider>
      <span data-at></span></div>` : "") +
    `<ol class="events">${events.map((e) => `<li>${fmtTime(e.t ?? e.at)} <b>${esc(e.status ?? e.state ?? e.severity ?? e.event)}</b> ${esc(e.note ?? e.message ?? "")}</li>`).join("")}</ol>`;
  if (!points.length) return;
  const marker = L.circleMarker([points[0].lat, points[0].lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#6a1b9a", fillOpacity: 1 })
    .addTo(S.replayLayer);
  const slider = box.querySelector("[data-slider]");
  const at = box.querySelector("[data-at]");
  const show = (k) => {
    const p = points[k];
    marker.setLatLng([p.lat, p.lon]);
    at.textContent = `${fmtTime(p.t)} ${p.drone} ${p.alt.toFixed(0)} m`;
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  box.querySelector("[data-play]").addEventListener("click", () => {
    clearInterval(S.replayTimer);
    if (Number(slider.value) >= points.length - 1) slider.value = 0;
    S.replayTimer = setInterval(() => {
      const k = Number(slider.value) + 1;
      if (k >= points.length) { clearInterval(S.replayTimer); return; }
      slider.value = k;
      show(k);
    }, 120);
  });
  show(0);
  S.map.fitBounds(L.latLngBounds(points.map((p) => [p.lat, p.lon])).pad(0.3));
}

// ---------- reports ----------
const STAGES = ["assign", "launch", "on_scene", "resolved"];
function rangeQuery() {
  const f = document.getElementById("rt-form");
  const q = new URLSearchParams();
  const tz = localOffset();
  if (f.from.value) q.set("from", `${f.from.value}T00:00:00${tz}`);
  if (f.to.value) q.set("to", `${f.to.value}T23:59:59${tz}`);
  return q;
}
function localOffset() {
  const m = -new Date().getTimezoneOffset();
  const a = Math.abs(m);
  return `${m >= 0 ? "+" : "-"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}
async function loadReports() {
  const tbody = document.querySelector("#rt-table tbody");
  let rt;
  try {
    rt = (await api("GET", `/api/reports/response-times?${rangeQuery()}`)).data;
  } catch (e) { tbody.innerHTML = `<tr><td colspan="7" class="error">${esc(e.message)}</td></tr>`; return; }
  S.responseTimes = rt;
  const num = (v) => (v == null ? "–" : Math.round(v));
  tbody.innerHTML = rt.groups.length ? rt.groups.map((g) => `<tr class="${g.kind === "all" || g.hangar === "all" ? "total" : ""}">
    <td>${esc(g.kind === "all" ? "all kinds" : (KIND_LABELS[g.kind] ?? g.kind))}</td><td>${esc(g.hangar)}</td><td>${g.incidents}</td>
    ${STAGES.map((s) => `<td>${num(g.stages[s].median_s)} / ${num(g.stages[s].p90_s)}</td>`).join("")}</tr>`).join("")
    : `<tr><td colspan="7">No incidents in this period.</td></tr>`;
  drawChart(rt.groups.filter((g) => g.hangar === "all" && g.kind !== "all"));
  loadDaily();
}
// A bar chart (SVG): median and p90 time to on scene per incident kind.
function drawChart(groups) {
  const box = document.getElementById("rt-chart");
  const rows = groups.filter((g) => g.stages.on_scene.n > 0);
  if (!rows.length) { box.innerHTML = '<p class="hint">No incident reached its scene in this period.</p>'; return; }
  const max = Math.max(...rows.map((g) => g.stages.on_scene.p90_s));
  const W = 390, bar = 14, gap = 12, left = 140;
  const h = rows.length * (2 * bar + gap) + 24;
  const x = (v) => left + (v / max) * (W - left - 80);
  let svg = `<svg width="${W}" height="${h}" role="img" aria-label="time to on scene by kind">`;
  rows.forEach((g, i) => {
    const y = 4 + i * (2 * bar + gap);
    const m = g.stages.on_scene.median_s, p = g.stages.on_scene.p90_s;
    svg += `<text x="0" y="${y + bar + 4}" font-size="11">${esc(KIND_LABELS[g.kind] ?? g.kind)}</text>
      <rect x="${left}" y="${y}" width="${x(m) - left}" height="${bar}" fill="#1a5fb4"><title>median ${Math.round(m)} s</title></rect>
      <text x="${x(m) + 3}" y="${y + bar - 3}" font-size="10">${Math.round(m)} s</text>
      <rect x="${left}" y="${y + bar}" width="${x(p) - left}" height="${bar}" fill="#9bb7e0"><title>p90 ${Math.round(p)} s</title></rect>
      <text x="${x(p) + 3}" y="${y + 2 * bar - 3}" font-size="10">p90 ${Math.round(p)} s</text>`;
  });
  svg += `<text x="${left}" y="${h - 4}" font-size="10" fill="#667">time from report to on scene (s)</text></svg>`;
  box.innerHTML = svg;
}
async function loadDaily() {
  const f = document.getElementById("day-form");
  const box = document.getElementById("day");
  if (!f.date.value && S.lastTime) f.date.value = new Date(S.lastTime).toISOString().slice(0, 10);
  const q = new URLSearchParams({ offset: localOffset() });
  if (f.date.value) q.set("date", f.date.value);
  try {
    const d = (await api("GET", `/api/reports/daily?${q}`)).data;
    S.daily = d;
    const list = (o, fmt = (v) => v) => Object.entries(o).map(([k, v]) => `<li>${esc(KIND_LABELS[k] ?? k)}: <b>${fmt(v)}</b></li>`).join("") || "<li>none</li>";
    box.innerHTML = `<p><b>${d.date}</b>: ${d.incidents_reported} incidents reported, ${d.total_flight_hours} flight hours</p>
      <h3>Missions flown</h3><ul class="plain">${list(d.missions_by_kind)}</ul>
      <h3>Incidents by status</h3><ul class="plain">${list(d.incidents_by_status)}</ul>
      <h3>Flight hours</h3><ul class="plain">${list(Object.fromEntries(Object.entries(d.flight_hours).filter(([, h]) => h > 0)), (h) => h.toFixed(2))}</ul>
      <h3>Alerts</h3><ul class="plain">${list(d.alerts_by_severity)}</ul>`;
  } catch (e) { box.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
}
document.getElementById("rt-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReports(); });
document.getElementById("day-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadDaily(); });
document.getElementById("rt-csv").addEventListener("click", async () => {
  const q = rangeQuery();
  q.set("format", "csv");
  const r = await fetch(`/api/reports/response-times?${q}`, { headers: { Authorization: `Bearer ${S.token}` } });
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: "response-times.csv" });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

// ---------- helpers ----------
function fmtTime(t) {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}
function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

S.selectDrone = selectDrone;
S.renderLists = renderLists;
S.selectIncident = selectIncident;
S.replay = replay;
S.loadReports = loadReports;

// ---------- boot ----------
{
  const fromUrl = new URLSearchParams(location.search).get("token");
  const saved = fromUrl ?? localStorage.getItem("dispatch-token");
  if (saved) login(saved); else document.getElementById("login").hidden = false;
}
