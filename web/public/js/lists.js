// The side panel's lists: the incidents (dispatch view), the safety crew's
// table of every drone and the alerts. They refresh at most twice a second,
// when something changed, and the table's rows are made once per drone with
// only their changed cells written.
import { esc, fmtTime, kindLabel } from "./format.js";
import { t } from "./i18n.js";
import { panTo } from "./map.js";
import { updateSelectedDrone } from "./selected.js";
import { selectDrone, selectIncident, state, subscribe } from "./state.js";
import { droneStateColour, droneStateLabel, isTerminal, linkLabel, statusLabel } from "./status.js";
import { reasonNamesWind } from "./wind.js";

const REFRESH_MS = 500;
let dirty = false;
const rows = new Map(); // drone id -> its <tr>

export function initLists() {
  subscribe(["drones", "incidents", "alerts", "selection"], markDirty);
  subscribe("snapshot", () => renderLists(true));
  subscribe("view", () => renderLists());
}

// After login: the 2 Hz refresh.
export function startLists() {
  setInterval(renderLists, REFRESH_MS);
}

export function markDirty() {
  dirty = true;
}

export function isDirty() {
  return dirty;
}

export function renderLists(force) {
  if (!force && !dirty) return;
  dirty = false;
  updateSelectedDrone();
  if (state.view === "dispatch") renderIncidents();
  else renderCrew();
}

function renderIncidents() {
  const ul = document.getElementById("incidents");
  const list = [...state.incidents.values()].sort((a, b) => b.id - a.id);
  ul.innerHTML = list.length ? "" : `<li>${esc(t("incidents.none"))}</li>`;
  for (const i of list) {
    const li = document.createElement("li");
    const ended = isTerminal(i.status);
    li.className = ended ? "ended" : "";
    li.dataset.incident = i.id;
    li.innerHTML = `<span class="status st-${i.status}">${esc(statusLabel(i.status))}</span>
        <b>#${i.id}</b> ${esc(kindLabel(i.kind))}<br>
        <small${!i.drone && reasonNamesWind(i.reason) ? ' class="wind-hold"' : ""}>${i.drone ? esc(t("incidents.drone", { drone: i.drone })) : `<span class="srv">${esc(i.reason ?? "")}</span>`}${i.eta && !ended ? ` · ${esc(t("incidents.eta", { time: fmtTime(i.eta) }))}` : ""} · <span data-f="reported">${fmtTime(i.reported_at)}</span></small>`;
    li.addEventListener("click", () => { selectIncident(i.id); panTo(i.position.lat, i.position.lon); });
    ul.appendChild(li);
  }
}

function renderCrew() {
  const tbody = document.querySelector("#drones tbody");
  const drones = [...state.drones.values()];
  document.getElementById("drone-count").textContent =
    t("drones.count", { flying: drones.filter((d) => d.armed).length, total: drones.length });
  for (const d of drones) {
    let tr = rows.get(d.id);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.drone = d.id;
      tr.innerHTML = "<td></td>".repeat(8);
      tr.addEventListener("click", () => {
        selectDrone(tr.dataset.drone);
        const x = state.drones.get(tr.dataset.drone);
        if (x) panTo(x.lat, x.lon);
      });
      rows.set(d.id, tr);
      tbody.appendChild(tr);
    }
    const cells = tr.children;
    const vals = [d.id, droneStateLabel(d.state), d.mode, (d.alt ?? 0).toFixed(0), (d.speed ?? 0).toFixed(1),
      `${Math.round(d.battery ?? 0)}%`, linkLabel(d.link), d.incident ? `#${d.incident}` : ""];
    for (let i = 0; i < 8; i++) if (cells[i].textContent !== vals[i]) cells[i].textContent = vals[i];
    cells[1].style.color = droneStateColour(d.state, "#000");
    tr.classList.toggle("sel", d.id === state.selectedDrone);
  }
  for (const [id, tr] of rows) {
    if (!state.drones.has(id)) { tr.remove(); rows.delete(id); }
  }
  const ul = document.getElementById("alerts");
  ul.innerHTML = state.alerts.slice(0, 60).map((a) =>
    `<li class="${esc(a.severity ?? "info")}">${a.t ? fmtTime(a.t) : ""} ${a.drone ? `<b>${esc(a.drone)}</b> ` : ""}${alertText(a)}</li>`).join("");
}

// The page's own alerts are in its language; the server's as it sent them.
function alertText(a) {
  return a.local ? esc(a.message ?? "") : `<span class="srv">${esc(a.message ?? "")}</span>`;
}
