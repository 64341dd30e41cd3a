// Stills kept as evidence for an incident: the "snapshot" button (the
// server keeps a frame of the drone's live video with where the drone was
// and where it looked) and the strip of an incident's stills in its panel,
// the automatic one taken on arrival on scene among them. The pictures are
// <img>s on GET /api/stills/ID, the token in the query as for the video.
import { api, getRaw, tokenUrl } from "./api.js";
import { esc, fmtTime } from "./format.js";
import { label, t } from "./i18n.js";
import { addStill, setStills, state, subscribe } from "./state.js";

// Why an incident's stills could not be listed (a server without an event
// log answers 503 `no_event_log`): shown in the strip's place.
// Asked again after RETRY_MS, not on every redraw of the panel.
const failed = new Map(); // incident -> { message, at }
const loading = new Set();
const RETRY_MS = 30000;

export function initStills() {
  subscribe("stills", (_, incident) => {
    for (const el of document.querySelectorAll(`[data-stills="${incident}"]`)) el.innerHTML = stripHtml(incident);
  });
  // A still's picture opened whole in a tab of its own: fetched with the
  // Authorization header and shown from memory, so that no address with
  // the token in it lands in the tab's address bar or history.
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest?.("a[data-open-still]");
    if (!a) return;
    ev.preventDefault();
    openStill(a.dataset.openStill);
  });
}

async function openStill(id) {
  const tab = window.open("", "_blank");
  try {
    const r = await getRaw(`/api/stills/${encodeURIComponent(id)}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const url = URL.createObjectURL(await r.blob());
    if (tab) tab.location.href = url;
    else window.location.assign(url);
  } catch (e) {
    tab?.close();
    console.warn(`still ${id}: ${e.message}`);
  }
}

// A link that opens still `id`'s picture (see initStills).
export function stillLinkAttrs(id) {
  return `href="#" data-open-still="${esc(id)}"`;
}

// The picture's URL for an <img> (or a link that opens it whole).
export function stillUrl(id) {
  return tokenUrl(`/api/stills/${encodeURIComponent(id)}`);
}

// A still's caption: when, which drone, why, where it looked from.
export function stillCaption(s) {
  return t("still.caption", {
    time: fmtTime(s.t ?? s.taken_at),
    drone: s.drone,
    trigger: label("trigger", s.trigger),
    heading: Math.round(s.heading_deg ?? 0),
    alt: Math.round(s.alt_m ?? 0),
  });
}

// The box for incident `id`'s stills, filled now and on every change; the
// list is asked of the server the first time.
export function stillsBox(id) {
  const gaveUp = failed.get(id);
  if (!state.stills.has(id) && !loading.has(id) && !(gaveUp && Date.now() - gaveUp.at < RETRY_MS)) load(id);
  return `<div class="stills" data-stills="${id}">${stripHtml(id)}</div>`;
}

async function load(id) {
  loading.add(id);
  try {
    const { data } = await api("GET", `/api/incidents/${id}/stills`);
    failed.delete(id);
    setStills(id, data);
  } catch (e) {
    failed.set(id, { message: e.message, at: Date.now() });
    for (const el of document.querySelectorAll(`[data-stills="${id}"]`)) el.innerHTML = stripHtml(id);
  } finally {
    loading.delete(id);
  }
}

function stripHtml(id) {
  if (failed.has(id)) return `<small class="error">${esc(t("still.unavailable", { reason: failed.get(id).message }))}</small>`;
  const list = state.stills.get(id) ?? [];
  if (!list.length) return "";
  return `<div class="still-title">${esc(t("still.title", { n: list.length }))}</div><div class="still-strip">${list.map((s) => {
    const caption = stillCaption(s);
    return `<figure class="still" data-still="${esc(s.id)}"><a ${stillLinkAttrs(s.id)}><img src="${esc(stillUrl(s.id))}" alt="${esc(caption)}" width="160" height="90" loading="lazy"></a><figcaption>${esc(caption)}</figcaption></figure>`;
  }).join("")}</div>`;
}

// The snapshot button for incident `incident`'s panel or its drone's.
export function snapshotButton() {
  return `<button data-snapshot title="${esc(t("still.snapshot_title"))}">${esc(t("still.snapshot"))}</button>`;
}

// Wires the box's snapshot button: a still of `drone`'s camera for
// `incident`, from the stream the box plays (its first when none plays).
export function attachSnapshot(box, incident, drone) {
  const b = box.querySelector("button[data-snapshot]");
  if (!b) return;
  b.addEventListener("click", async () => {
    const msg = box.querySelector(".still-msg");
    const playing = box.querySelector(".video-holder")?.dataset.video;
    const body = { drone };
    if (playing?.startsWith(`${drone}/`)) body.stream = Number(playing.split("/").pop());
    b.disabled = true;
    if (msg) msg.textContent = t("still.taking");
    try {
      const { data } = await api("POST", `/api/incidents/${incident}/stills`, body);
      addStill(data);
      if (msg) msg.textContent = t("still.kept", { caption: stillCaption(data) });
    } catch (e) {
      if (msg) msg.innerHTML = `<span class="error">${esc(e.message)}</span>`;
    } finally {
      b.disabled = false;
    }
  });
}
