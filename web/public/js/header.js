// The header: the scenario's title, the scenario clock, the connection
// badge, the server in use (in a cluster), who is logged in, the language
// toggle (中/EN) and the view switcher with the side-panel sections it shows.
import { esc, fmtTime } from "./format.js";
import { label, localName, switchLang, t } from "./i18n.js";
import { setView, state, subscribe } from "./state.js";

const VIEWS = ["dispatch", "crew", "reports"];

export function initHeader() {
  for (const b of document.querySelectorAll("header nav button")) {
    b.addEventListener("click", () => setView(b.dataset.view));
  }
  document.getElementById("lang").addEventListener("click", switchLang);
  subscribe("view", () => {
    for (const b of document.querySelectorAll("header nav button")) b.classList.toggle("active", b.dataset.view === state.view);
    for (const v of VIEWS) document.getElementById(`${v}-view`).hidden = v !== state.view;
  });
  subscribe("session", () => {
    const you = state.config.you;
    // The name is the configuration's (`[[token]] name`), as it is written there.
    document.getElementById("who").innerHTML =
      `<span class="srv">${esc(you.name)}</span> ${esc(t("header.who", { role: label("role", you.role) }))}`;
    const title = localName(state.config, "scenario", null, state.config.scenario);
    document.getElementById("title").textContent = title;
    document.title = title;
  });
  subscribe("clock", () => {
    document.getElementById("clock").textContent = t("header.clock", { time: fmtTime(state.lastTime) });
  });
  subscribe("server", () => {
    const el = document.getElementById("server");
    const sv = state.server;
    // A single server says nothing: the address bar names it.
    el.hidden = !sv || (!sv.node && sv.up);
    if (el.hidden) return;
    const name = sv.node ? t("server.named", { node: sv.node }) : new URL(sv.origin).host;
    const role = !sv.up ? t("server.down") : sv.role === "leader" ? t("server.leader")
      : sv.leader ? t("server.follower", { leader: sv.leader }) : t("server.no_leader");
    el.textContent = `${name} · ${role}`;
    el.title = sv.origin;
    el.dataset.node = sv.node ?? "";
    el.classList.toggle("down", !sv.up);
  });
  subscribe("connection", (_, reason) => {
    const b = document.getElementById("conn");
    b.textContent = state.live ? t("conn.live") : reason ? t("conn.offline_reason", { reason }) : t("conn.offline");
    b.classList.toggle("live", state.live);
  });
}
