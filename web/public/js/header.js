// The header: the scenario's title, the scenario clock, the connection
// badge, the server in use (in a cluster), who is logged in, and the view switcher with the side-panel
// sections it shows.
import { fmtTime } from "./format.js";
import { setView, state, subscribe } from "./state.js";

const VIEWS = ["dispatch", "crew", "reports"];

export function initHeader() {
  for (const b of document.querySelectorAll("header nav button")) {
    b.addEventListener("click", () => setView(b.dataset.view));
  }
  subscribe("view", () => {
    for (const b of document.querySelectorAll("header nav button")) b.classList.toggle("active", b.dataset.view === state.view);
    for (const v of VIEWS) document.getElementById(`${v}-view`).hidden = v !== state.view;
  });
  subscribe("session", () => {
    const you = state.config.you;
    document.getElementById("who").textContent = `${you.name} (${you.role})`;
    document.getElementById("title").textContent = state.config.scenario;
  });
  subscribe("clock", () => {
    document.getElementById("clock").textContent = `scenario time ${fmtTime(state.lastTime)}`;
  });
  subscribe("server", () => {
    const el = document.getElementById("server");
    const sv = state.server;
    // A single server says nothing: the address bar names it.
    el.hidden = !sv || (!sv.node && sv.up);
    if (el.hidden) return;
    const name = sv.node ? `server ${sv.node}` : new URL(sv.origin).host;
    const role = !sv.up ? "not answering" : sv.role === "leader" ? "leader" : sv.leader ? `follower of ${sv.leader}` : "no leader now";
    el.textContent = `${name} · ${role}`;
    el.title = sv.origin;
    el.dataset.node = sv.node ?? "";
    el.classList.toggle("down", !sv.up);
  });
  subscribe("connection", (_, reason) => {
    const b = document.getElementById("conn");
    b.textContent = state.live ? "live" : reason ? `offline: ${reason}` : "offline";
    b.classList.toggle("live", state.live);
  });
}
