// A click on the map: on a drone, selects it; elsewhere, for a dispatcher,
// a popup to report an incident there, answered with the proposed or
// launched drone (and a launch button for a proposal).
import { api } from "./api.js";
import { esc, fmtTime, kindLabel, shortPlace } from "./format.js";
import { localName, t } from "./i18n.js";
import { canDispatch, putIncident, selectDrone, selectIncident, state } from "./state.js";
import { statusLabel } from "./status.js";
import { sortieWindText } from "./wind.js";

export function attachReportPopup(map, droneLayer) {
  map.on("click", (ev) => onMapClick(map, droneLayer, ev));
}

function onMapClick(map, droneLayer, ev) {
  // Where the pointer was: a click on a hangar's H comes with the hangar's
  // position, and the drone meant is the one under the pointer.
  const d = droneLayer.hit(ev.originalEvent ? map.mouseEventToContainerPoint(ev.originalEvent) : ev.containerPoint);
  if (d) { selectDrone(d.id); return; }
  if (!canDispatch()) return;
  const kinds = state.config.kinds.filter((k) => k.kind !== "patrol");
  const div = L.DomUtil.create("div", "popup");
  div.innerHTML = `<b>${esc(t("popup.title"))}</b><br>${ev.latlng.lat.toFixed(5)}, ${ev.latlng.lng.toFixed(5)}
    <select name="kind">${kinds.map((k) => `<option value="${k.kind}">${esc(kindLabel(k.kind))}${k.auto_launch ? "" : esc(t("popup.confirm"))}</option>`).join("")}</select>
    <input name="note" placeholder="${esc(t("popup.note"))}" style="width:100%">
    <button class="primary" name="report">${esc(t("popup.report"))}</button><div class="msg"></div>`;
  L.DomEvent.disableClickPropagation(div);
  const popup = L.popup({ minWidth: 240 }).setLatLng(ev.latlng).setContent(div).openOn(map);
  const reportKey = `map-${randomHex(16)}`;
  div.querySelector("[name=report]").addEventListener("click", async () => {
    const msg = div.querySelector(".msg");
    msg.textContent = t("popup.reporting");
    try {
      const note = div.querySelector("[name=note]").value.trim();
      // One key per report: sent again during a fail-over, it is still one incident.
      const { status, data } = await api("POST", "/api/incidents", {
        kind: div.querySelector("[name=kind]").value, lat: ev.latlng.lat, lon: ev.latlng.lng,
        ...(note ? { note } : {}), source: "map", external_id: reportKey,
      }, { idempotent: true });
      putIncident(data);
      selectIncident(data.id);
      msg.innerHTML = status === 202
        ? `<span class="error">${t("popup.queued", { reason: data.reason ? `<span class="srv">${esc(data.reason)}</span>` : esc(t("popup.no_drone")) })}</span>`
        : proposalText(data);
      if (data.status === "proposed") {
        const b = L.DomUtil.create("button", "primary", div);
        b.textContent = t("popup.launch", { drone: data.drone });
        b.addEventListener("click", () => launch(data.id, msg));
      }
      popup.update();
    } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  });
}

function proposalText(i) {
  const a = i.assignment;
  if (!a) return esc(statusLabel(i.status));
  const hangar = state.hangars.find((h) => h.id === a.chosen.hangar);
  const hangarName = localName(state.config, "hangars", a.chosen.hangar, hangar?.name ?? a.chosen.hangar);
  return `<b>${esc(t(i.status === "proposed" ? "popup.proposed" : "popup.launched"))}: ${esc(a.chosen.drone)}</b> ${esc(t("popup.from_hangar", { hangar: shortPlace(hangarName) }))}<br>
    ${esc(t("popup.eta", { time: fmtTime(a.arrival_at), s: Math.round(a.chosen.eta_s), km: (a.route.length_m / 1000).toFixed(1) }))}<br>
    ${esc(t("popup.battery", { pct: Math.round(a.chosen.battery_on_landing_pct) }))}` +
    (a.wind ? `<br>${esc(sortieWindText(a.wind))}` : "") +
    (a.alternatives.length ? `<br>${esc(t("popup.alternatives", { list: a.alternatives.map((x) => `${x.drone} ${Math.round(x.eta_s)} s`).join(", ") }))}` : "");
}

async function launch(id, msg) {
  try {
    const { data } = await api("POST", `/api/incidents/${id}/dispatch`);
    putIncident(data);
    if (msg) msg.innerHTML = proposalText(data);
  } catch (e) { if (msg) msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
}

// `bytes` random bytes in hex (crypto.randomUUID needs a secure context).
function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
