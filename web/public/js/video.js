// A drone's live camera in the side panel: a camera button for drones
// whose camera answered (d.camera), and the video itself, an <img> on the
// server's MJPEG relay (/api/drones/ID/video). An <img> cannot send the
// Authorization header, so the token goes in the query, as for the
// websocket. Closing the panel (the <img> removed) ends the stream.
import { api, tokenUrl } from "./api.js";
import { esc } from "./format.js";
import { t } from "./i18n.js";

// The relay's URL for one of a drone's streams.
export function videoUrl(droneId, streamId) {
  return tokenUrl(`/api/drones/${encodeURIComponent(droneId)}/video`, streamId != null ? { stream: String(streamId) } : {});
}

// The camera buttons of a drone with a camera (one per stream), or "".
export function cameraButtons(d) {
  const streams = d?.camera?.streams ?? [];
  if (!streams.length) return "";
  return `<div class="buttons camera">${streams.map((s) =>
    `<button data-video="${s.id}" title="${esc(`${s.name} ${s.width}x${s.height}, ${s.framerate} fps${s.thermal ? `, ${t("video.thermal")}` : ""}`)}">${esc(t(s.thermal ? "video.thermal" : "video.camera"))}</button>`).join("")}</div>`;
}

// Shows drone `d`'s stream `streamId` in `holder` (an element of the
// panel); the same stream already shown is left playing.
export function showVideo(holder, d, streamId) {
  if (!holder || !d?.camera?.streams?.length) return;
  const stream = d.camera.streams.find((s) => s.id === streamId) ?? d.camera.streams[0];
  const key = `${d.id}/${stream.id}`;
  if (holder.dataset.video === key && holder.querySelector("img")) return;
  holder.dataset.video = key;
  holder.innerHTML = `<img class="video" alt="${esc(t("video.alt", { id: d.id }))}" width="${stream.width}" height="${stream.height}">
    <div class="video-caption">${esc(d.id)} &middot; ${esc(stream.name)}${stream.thermal ? ` (${esc(t("video.thermal"))})` : ""} &middot; ${esc(t("video.live"))}</div>`;
  const img = holder.querySelector("img");
  const caption = holder.querySelector(".video-caption");
  // An image taken off the page (stopVideo, a redraw) errors too: not the camera.
  img.addEventListener("error", () => {
    if (img.isConnected) caption.textContent = t("video.no_answer", { id: d.id });
  });
  img.src = videoUrl(d.id, stream.id);
}

// Wires the camera buttons of a panel to its video holder.
export function attachCamera(box, d) {
  const holder = box.querySelector(".video-holder");
  for (const b of box.querySelectorAll("button[data-video]")) {
    b.addEventListener("click", () => {
      const id = Number(b.dataset.video);
      if (holder.dataset.video === `${d.id}/${id}`) { stopVideo(holder); return; }
      showVideo(holder, d, id);
    });
  }
}

// The drone's camera as the server knows it now: the websocket's snapshot
// may predate the camera's discovery. Calls `then` when one was found.
const asked = new Set();
export async function refreshCamera(d, then) {
  if (d.camera || asked.has(d.id)) return;
  asked.add(d.id);
  try {
    const { data } = await api("GET", `/api/drones/${encodeURIComponent(d.id)}`);
    if (data?.camera) { d.camera = data.camera; then(); }
    else setTimeout(() => asked.delete(d.id), 10000);
  } catch { asked.delete(d.id); }
}

export function stopVideo(holder) {
  if (!holder) return;
  holder.querySelector("img")?.removeAttribute("src");
  holder.innerHTML = "";
  delete holder.dataset.video;
}
