// The Reports view: response times per incident kind and hangar (table,
// SVG bar chart, CSV download) and the daily summary, read from the event log.
// Days are the scenario's (its time zone, /api/config), not the browser's.
import { api, getRaw } from "./api.js";
import { esc, fmtDate, kindLabel, zoneOffset } from "./format.js";
import { label, t } from "./i18n.js";
import { state, subscribe } from "./state.js";

const STAGES = ["assign", "launch", "on_scene", "resolved"];
// The last answers, for window.dispatchMap.
export const lastReports = { responseTimes: null, daily: null };

export function initReports() {
  subscribe("view", () => { if (state.view === "reports") loadReports(); });
  document.getElementById("rt-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadReports(); });
  document.getElementById("day-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadDaily(); });
  document.getElementById("rt-csv").addEventListener("click", async () => {
    const q = rangeQuery();
    q.set("format", "csv");
    const r = await getRaw(`/api/reports/response-times?${q}`);
    const url = URL.createObjectURL(await r.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: "response-times.csv" });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}

export async function loadReports() {
  const tbody = document.querySelector("#rt-table tbody");
  let rt;
  try {
    rt = (await api("GET", `/api/reports/response-times?${rangeQuery()}`)).data;
  } catch (e) { tbody.innerHTML = `<tr><td colspan="7" class="error srv">${esc(e.message)}</td></tr>`; return; }
  lastReports.responseTimes = rt;
  const num = (v) => (v == null ? "–" : Math.round(v));
  tbody.innerHTML = rt.groups.length ? rt.groups.map((g) => `<tr class="${g.kind === "all" || g.hangar === "all" ? "total" : ""}">
    <td>${esc(g.kind === "all" ? t("kind.all") : kindLabel(g.kind))}</td><td>${esc(g.hangar === "all" ? t("rt.all_hangars") : g.hangar)}</td><td>${g.incidents}</td>
    ${STAGES.map((s) => `<td>${num(g.stages[s].median_s)} / ${num(g.stages[s].p90_s)}</td>`).join("")}</tr>`).join("")
    : `<tr><td colspan="7">${esc(t("rt.none"))}</td></tr>`;
  drawChart(rt.groups.filter((g) => g.hangar === "all" && g.kind !== "all"));
  loadDaily();
}

function rangeQuery() {
  const f = document.getElementById("rt-form");
  const q = new URLSearchParams();
  if (f.from.value) q.set("from", `${f.from.value}T00:00:00${zoneOffset(f.from.value)}`);
  if (f.to.value) q.set("to", `${f.to.value}T23:59:59${zoneOffset(f.to.value)}`);
  return q;
}

// A bar chart (SVG): median and p90 time to on scene per incident kind.
function drawChart(groups) {
  const box = document.getElementById("rt-chart");
  const rows = groups.filter((g) => g.stages.on_scene.n > 0);
  if (!rows.length) { box.innerHTML = `<p class="hint">${esc(t("chart.none"))}</p>`; return; }
  const max = Math.max(...rows.map((g) => g.stages.on_scene.p90_s));
  const W = 390, bar = 14, gap = 12, left = 140;
  const h = rows.length * (2 * bar + gap) + 24;
  const x = (v) => left + (v / max) * (W - left - 80);
  // Its own width at most, narrower on a phone (the viewBox scales it).
  let svg = `<svg width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(t("chart.label"))}">`;
  rows.forEach((g, i) => {
    const y = 4 + i * (2 * bar + gap);
    const m = g.stages.on_scene.median_s, p = g.stages.on_scene.p90_s;
    svg += `<text x="0" y="${y + bar + 4}" font-size="11">${esc(kindLabel(g.kind))}</text>
      <rect x="${left}" y="${y}" width="${x(m) - left}" height="${bar}" fill="#1a5fb4"><title>${esc(t("chart.median", { s: Math.round(m) }))}</title></rect>
      <text x="${x(m) + 3}" y="${y + bar - 3}" font-size="10">${Math.round(m)} s</text>
      <rect x="${left}" y="${y + bar}" width="${x(p) - left}" height="${bar}" fill="#9bb7e0"><title>${esc(t("chart.p90", { s: Math.round(p) }))}</title></rect>
      <text x="${x(p) + 3}" y="${y + 2 * bar - 3}" font-size="10">${esc(t("chart.p90", { s: Math.round(p) }))}</text>`;
  });
  svg += `<text x="${left}" y="${h - 4}" font-size="10" fill="#667">${esc(t("chart.axis"))}</text></svg>`;
  box.innerHTML = svg;
}

async function loadDaily() {
  const f = document.getElementById("day-form");
  const box = document.getElementById("day");
  if (!f.date.value && state.lastTime) f.date.value = fmtDate(state.lastTime);
  const q = new URLSearchParams({ offset: zoneOffset(f.date.value || fmtDate(state.lastTime ?? Date.now())) });
  if (f.date.value) q.set("date", f.date.value);
  try {
    const d = (await api("GET", `/api/reports/daily?${q}`)).data;
    lastReports.daily = d;
    const list = (o, name, fmt = (v) => v) => Object.entries(o).map(([k, v]) => `<li>${esc(name(k))}: <b>${fmt(v)}</b></li>`).join("")
      || `<li>${esc(t("day.none"))}</li>`;
    box.innerHTML = `<p><b>${esc(d.date)}</b>: ${esc(t("day.summary", { n: d.incidents_reported, hours: d.total_flight_hours }))}</p>
      <h3>${esc(t("day.missions"))}</h3><ul class="plain">${list(d.missions_by_kind, kindLabel)}</ul>
      <h3>${esc(t("day.by_status"))}</h3><ul class="plain">${list(d.incidents_by_status, (s) => label("status", s))}</ul>
      <h3>${esc(t("day.hours"))}</h3><ul class="plain">${list(Object.fromEntries(Object.entries(d.flight_hours).filter(([, h]) => h > 0)), (drone) => drone, (h) => h.toFixed(2))}</ul>
      <h3>${esc(t("day.alerts"))}</h3><ul class="plain">${list(d.alerts_by_severity, (s) => label("severity", s))}</ul>`;
  } catch (e) { box.innerHTML = `<span class="error srv">${esc(e.message)}</span>`; }
}
