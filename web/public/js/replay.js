// An incident's time line from the event log and the replay of its drones'
// tracks: a dashed purple line on the map and a marker moved by a slider or
// by "play". Without a map only the time line is shown.
import { api } from "./api.js";
import { esc, fmtTime } from "./format.js";
import { label, t } from "./i18n.js";
import { getMap } from "./map.js";
import { stillCaption, stillLinkAttrs, stillUrl } from "./stills.js";

const STEP_MS = 120;
let layer = null;
let timer = null;

export async function replay(id, box) {
  box.textContent = t("replay.loading");
  let tl;
  try {
    tl = (await api("GET", `/api/incidents/${id}/timeline`)).data;
  } catch (e) { box.innerHTML = `<span class="error">${esc(e.message)}</span>`; return; }
  const map = getMap();
  if (map) {
    layer ??= L.layerGroup().addTo(map);
    layer.clearLayers();
  }
  clearInterval(timer);
  const points = tl.tracks.flatMap((tr) => tr.points.map((p) => ({ drone: tr.drone, t: p[0], lat: p[1], lon: p[2], alt: p[3] })))
    .sort((a, b) => a.t.localeCompare(b.t));
  if (map) {
    for (const tr of tl.tracks) {
      if (tr.points.length > 1) {
        L.polyline(tr.points.map((p) => [p[1], p[2]]), { color: "#6a1b9a", weight: 3, opacity: 0.8, dashArray: "6 4" })
          .bindTooltip(esc(t("replay.track", { drone: tr.drone }))).addTo(layer);
      }
    }
  }
  const events = tl.events.filter((e) => ["incident", "alert", "drone", "still"].includes(e.event));
  // The stills, where they were taken: a camera mark on the map (its
  // picture on hover) and, as the replay passes their time, the picture.
  const stills = tl.events.filter((e) => e.event === "still").map((e) => ({ ...e, ms: Date.parse(e.taken_at) })).sort((a, b) => a.ms - b.ms);
  if (map) {
    for (const s of stills) {
      L.marker([s.lat, s.lon], { icon: L.divIcon({ className: "still-mark", html: `<span style="transform: rotate(${Math.round(s.heading_deg)}deg)">▲</span>`, iconSize: [18, 18] }) })
        .bindTooltip(`<img src="${esc(stillUrl(s.still))}" width="160" height="90" alt=""><br>${esc(stillCaption(s))}`).addTo(layer);
    }
  }
  const src = t(tl.source === "event_log" ? "replay.from_log" : "replay.in_memory");
  box.innerHTML = `<div class="msg">${esc(t("replay.summary", { events: tl.events.length, source: src, points: points.length }))}</div>` +
    (points.length ? `<div class="row"><button data-play>${esc(t("replay.play"))}</button>
      <input type="range" min="0" max="${points.length - 1}" value="0" data-slider>
      <span data-at></span></div>` : "") +
    (stills.length ? `<figure class="still replay-still" hidden><img alt="" width="320" height="180"><figcaption></figcaption></figure>` : "") +
    `<ol class="events">${events.map((e) => `<li>${fmtTime(e.t ?? e.at)} <b>${esc(eventLabel(e))}</b> ${e.event === "still" ? stillLink(e) : `<span class="srv">${esc(e.note ?? e.message ?? "")}</span>`}</li>`).join("")}</ol>`;
  if (!points.length) return;
  const marker = map && L.circleMarker([points[0].lat, points[0].lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#6a1b9a", fillOpacity: 1 })
    .addTo(layer);
  const slider = box.querySelector("[data-slider]");
  const at = box.querySelector("[data-at]");
  const shown = box.querySelector(".replay-still");
  const show = (k) => {
    const p = points[k];
    marker?.setLatLng([p.lat, p.lon]);
    at.textContent = `${fmtTime(p.t)} ${p.drone} ${p.alt.toFixed(0)} m`;
    // The last still taken by then.
    const s = stills.filter((x) => x.ms <= Date.parse(p.t)).pop();
    if (!shown) return;
    shown.hidden = !s;
    if (s && shown.dataset.still !== s.still) {
      shown.dataset.still = s.still;
      shown.querySelector("img").src = stillUrl(s.still);
      shown.querySelector("figcaption").textContent = stillCaption(s);
    }
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  box.querySelector("[data-play]").addEventListener("click", () => {
    clearInterval(timer);
    if (Number(slider.value) >= points.length - 1) slider.value = 0;
    timer = setInterval(() => {
      const k = Number(slider.value) + 1;
      if (k >= points.length) { clearInterval(timer); return; }
      slider.value = k;
      show(k);
    }, STEP_MS);
  });
  show(0);
  // Not closer than a town's streets: a track of one point is no reason for
  // the map's last zoom level.
  map?.fitBounds(L.latLngBounds(points.map((p) => [p.lat, p.lon])).pad(0.3), { maxZoom: 14 });
}

// A still's line: its caption, a link to the picture.
function stillLink(e) {
  return `<a class="srv" ${stillLinkAttrs(e.still)}>${esc(stillCaption(e))}</a>`;
}

// What an event of the time line is: an incident's status, a drone's
// state, an alert's severity, else the event's name.
function eventLabel(e) {
  if (e.status) return label("status", e.status);
  if (e.state) return label("dstate", e.state);
  if (e.severity) return label("severity", e.severity);
  if (e.event === "still") return t("still.event");
  return e.event;
}
