// The side panel's box for the selected drone (live telemetry, operator
// commands) or the selected incident (its time line, the dispatcher's
// actions, the replay of its track).
import { api } from "./api.js";
import { esc, fmtTime, kindLabel } from "./format.js";
import { label, t } from "./i18n.js";
import { replay } from "./replay.js";
import { shareControls } from "./sharing.js";
import { canDispatch, launchHeld, putIncident, state, subscribe } from "./state.js";
import { canResolve, droneStateLabel, isTerminal, linkLabel, statusLabel } from "./status.js";
import { attachSnapshot, snapshotButton, stillsBox } from "./stills.js";
import { attachCamera, cameraButtons, refreshCamera, showVideo } from "./video.js";
import { fmtAge, reasonNamesWind, sortieWindText, windRejectionText, windText } from "./wind.js";

const COMMANDS = ["rtl", "land", "hold", "resume", "loudspeaker", "drop_payload"];

export function initSelected() {
  subscribe(["selection", "view"], renderSelected);
  // An incident answered or changed: its box, if it is the one shown.
  subscribe("incidents", (_, id) => { if (id != null && id === state.selectedIncident) renderSelected(); });
  subscribe("droneEvents", (_, id) => { if (id === state.selectedDrone) updateSelectedDrone(); });
  // A launch held for traffic, or released: the incident's "launch anyway" button.
  let held = false;
  subscribe("traffic", () => {
    const now = state.selectedIncident != null && launchHeld(state.selectedIncident);
    if (now !== held) { held = now; renderSelected(); }
  });
}

export function renderSelected() {
  const box = document.getElementById("selected");
  if (state.view === "reports") { box.hidden = true; return; }
  if (state.selectedDrone) {
    const d = state.drones.get(state.selectedDrone);
    if (!d) { box.hidden = true; return; }
    box.hidden = false;
    renderDrone(box, d);
    return;
  }
  if (state.selectedIncident) {
    const i = state.incidents.get(state.selectedIncident);
    if (!i) { box.hidden = true; return; }
    box.hidden = false;
    renderIncident(box, i);
    return;
  }
  box.hidden = true;
}

// The selected drone's live values, written into the box renderSelected made.
export function updateSelectedDrone() {
  const d = state.selectedDrone && state.drones.get(state.selectedDrone);
  if (!d) return;
  const box = document.getElementById("selected");
  const set = (f, v) => { const e = box.querySelector(`[data-f=${f}]`); if (e) e.textContent = v; };
  set("state", droneStateLabel(d.state));
  set("battery", `${Math.round(d.battery ?? 0)}%`);
  set("alt", `${(d.alt ?? 0).toFixed(1)} m`);
  set("speed", t("drone.speed_value", { speed: (d.speed ?? 0).toFixed(1), heading: Math.round(d.heading ?? 0) }));
  set("mode", `${d.mode}${d.armed ? t("drone.armed") : ""}`);
  set("link", linkLabel(d.link));
  set("task", d.incident ? t("drone.task_incident", { id: d.incident }) : t("drone.task_none"));
  set("wind", d.wind ? `${windText(d.wind)}, ${fmtAge(d.wind.age_s)}` : t("drone.wind_none"));
  const ul = box.querySelector("[data-f=events]");
  if (ul) {
    const list = state.droneEvents.get(d.id) ?? [];
    ul.innerHTML = list.slice(0, 8).map((e) => `<li><small>${esc(fmtTime(e.t))}</small> <span class="${e.local ? "" : "srv"}">${esc(e.text)}</span></li>`).join("");
  }
}

function renderDrone(box, d) {
  delete box.dataset.incident;
  // The same drone drawn again (a new selection event) keeps its video playing.
  const sameDrone = box.dataset.drone === d.id;
  const playing = sameDrone ? box.querySelector(".video-holder") : null;
  box.dataset.drone = d.id;
  const dt = (k) => `<dt>${esc(t(`drone.${k}`))}</dt>`;
  // A still for the incident it serves, from the stream it shows.
  const snapshot = canDispatch() && d.camera && d.incident != null;
  box.innerHTML = `<b>${esc(t("drone.title", { id: d.id }))}</b> <small>${esc(d.capabilities.map((c) => label("cap", c)).join(", "))}</small>
      ${cameraButtons(d)}<div class="video-holder"></div>
      ${snapshot ? `<div class="buttons">${snapshotButton()}</div><div class="still-msg msg"></div>` : ""}
      <dl>
        ${dt("state")}<dd data-f="state"></dd>${dt("battery")}<dd data-f="battery"></dd>
        ${dt("altitude")}<dd data-f="alt"></dd>${dt("speed")}<dd data-f="speed"></dd>
        ${dt("mode")}<dd data-f="mode"></dd>${dt("link")}<dd data-f="link"></dd>${dt("task")}<dd data-f="task"></dd>
        ${dt("wind")}<dd data-f="wind"></dd>
      </dl><ul class="plain drone-events" data-f="events"></ul>` + (canDispatch() ? `<div class="buttons">
        ${COMMANDS.map((a) => `<button data-a="${a}">${esc(t(`cmd.${a}`))}</button>`).join("")}
      </div><div class="msg"></div>` : "");
  for (const b of box.querySelectorAll("button[data-a]")) {
    b.addEventListener("click", async () => {
      const msg = box.querySelector(".msg");
      msg.textContent = t("cmd.sending", { action: t(`cmd.${b.dataset.a}`) });
      try {
        const { data } = await api("POST", `/api/drones/${encodeURIComponent(d.id)}/command`, { action: b.dataset.a });
        msg.innerHTML = `<span class="srv">${esc(data.message)}</span>`;
      } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
    });
  }
  if (playing?.dataset.video) box.querySelector(".video-holder").replaceWith(playing);
  else if (d.camera) showVideo(box.querySelector(".video-holder"), d);
  else refreshCamera(d, () => { if (state.selectedDrone === d.id) renderSelected(); });
  attachCamera(box, d);
  if (snapshot) attachSnapshot(box, d.incident, d.id);
  updateSelectedDrone();
}

function renderIncident(box, i) {
  // An update of the incident already shown (a new ETA, a status) keeps its
  // open replay: the slider, its place and the marker on the map.
  const openReplay = box.dataset.incident === String(i.id) ? box.querySelector(".replay") : null;
  // Its drone's live video, kept playing across updates of the incident.
  const serving = i.drone && !isTerminal(i.status) ? state.drones.get(i.drone) : null;
  const playing = box.dataset.incident === String(i.id) ? box.querySelector(".video-holder") : null;
  box.dataset.incident = i.id;
  delete box.dataset.drone;
  const ended = isTerminal(i.status);
  // A reason naming the wind (drones grounded by it) gets a box of its own.
  const windHold = !i.drone && reasonNamesWind(i.reason);
  box.innerHTML = `<b>#${i.id} ${esc(kindLabel(i.kind))}</b> <span class="st-${i.status}">${esc(statusLabel(i.status))}</span>
      ${windHold ? `<p class="wind-hold srv">${esc(i.reason)}</p>` : ""}
      <div class="msg">${i.drone ? esc(t("incident.drone", { drone: i.drone })) : windHold ? "" : `<span class="srv">${esc(i.reason ?? "")}</span>`}${i.eta ? esc(t("incident.eta", { time: fmtTime(i.eta) })) : ""}${i.note ? `<br><span class="srv">${esc(i.note)}</span>` : ""}${i.source ? `<br>${t("incident.from", { source: `<span class="srv">${esc(i.source)}</span>` })}` : ""}</div>
      ${windLines(i.assignment)}
      ${flightLine(i.assignment)}
      ${serving?.camera ? `<div class="video-holder"></div>` : ""}
      ${serving?.camera && canDispatch() ? `<div class="buttons">${snapshotButton()}</div><div class="still-msg msg"></div>` : ""}
      ${stillsBox(i.id)}
      <ol>${i.timeline.map((e) => `<li>${fmtTime(e.at)} <b>${esc(statusLabel(e.status))}</b> <span class="srv">${esc(e.note)}</span></li>`).join("")}</ol>
      <div class="buttons"><button data-replay="1">${esc(t("incident.replay"))}</button></div><div class="replay"></div>` +
    (canDispatch() && !ended ? `<div class="buttons">
        ${i.status === "proposed" ? `<button class="primary" data-a="dispatch">${esc(t("incident.launch"))}</button>` : ""}
        ${launchHeld(i.id) ? `<button class="primary" data-a="launch-anyway" title="${esc(t("incident.launch_anyway_title"))}">${esc(t("incident.launch_anyway"))}</button>` : ""}
        <button data-a="reassign">${esc(t("incident.reassign"))}</button><button data-a="cancel">${esc(t("incident.cancel"))}</button>
        ${canResolve(i.status) ? `<button data-a="resolve">${esc(t("incident.resolve"))}</button>` : ""}
      </div><div class="msg act"></div>` : "") +
    (canDispatch() ? `<div class="share"></div>` : "");
  const shareBox = box.querySelector(".share");
  if (shareBox) shareControls(shareBox, i.id);
  if (openReplay?.childElementCount) box.querySelector(".replay").replaceWith(openReplay);
  const holder = box.querySelector(".video-holder");
  if (holder && playing?.dataset.video?.startsWith(`${serving.id}/`)) holder.replaceWith(playing);
  else if (holder) showVideo(holder, serving);
  else if (serving) refreshCamera(serving, () => { if (state.selectedIncident === i.id) renderSelected(); });
  if (serving?.camera) attachSnapshot(box, i.id, serving.id);
  box.querySelector("[data-replay]").addEventListener("click", () => replay(i.id, box.querySelector(".replay")));
  for (const b of box.querySelectorAll("button[data-a]")) {
    b.addEventListener("click", async () => {
      const msg = box.querySelector(".act");
      try {
        const { data } = await api("POST", `/api/incidents/${i.id}/${b.dataset.a}`);
        putIncident(data);
      } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
    });
  }
}

// The sortie's separation from our other sorties: its layer, any delayed
// start, and why (nothing when it flies the cruise altitude unhindered).
function flightLine(a) {
  const f = a?.flight;
  if (!f) return "";
  const delay = f.start_delay_s > 0 ? t("flight.delay", { s: Math.round(f.start_delay_s) }) : "";
  const why = f.note ? `: <span class="srv">${esc(f.note)}</span>` : "";
  return `<div class="flight" data-f="flight">${esc(t("flight.cruise", { alt: Math.round(f.altitude_m) }) + delay)}${why}</div>`;
}

// The wind the assignment was planned with and the drones it grounded.
function windLines(a) {
  if (!a) return "";
  const grounded = a.rejected.map(windRejectionText).filter(Boolean);
  return (a.wind ? `<div class="wind">${esc(sortieWindText(a.wind))}</div>` : "") +
    (grounded.length ? `<div class="wind wind-hold">${esc(t("wind.passed_over", { list: grounded.join("; ") }))}</div>` : "");
}
