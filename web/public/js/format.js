// How values are written on the page: times in the scenario's time zone
// (`/api/config`'s `time_zone`, never the browser's), HTML escaping and
// the names of incident kinds in the page's language.
import { lang, t } from "./i18n.js";

let zone = "UTC";
let timeFmt = makeTimeFormat(zone);
let dateFmt = makeDateFormat(zone);

function makeTimeFormat(timeZone) {
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB",
    { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

// en-CA writes dates as YYYY-MM-DD, the form <input type=date> takes.
function makeDateFormat(timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
}

// The scenario's IANA zone, from /api/config. A name this browser does not
// know leaves UTC, and says so in the console.
export function setTimeZone(name) {
  try {
    timeFmt = makeTimeFormat(name ?? "UTC");
    dateFmt = makeDateFormat(name ?? "UTC");
    zone = name ?? "UTC";
  } catch (e) {
    console.warn(`time zone ${name}: ${e.message}; times are shown in UTC`);
  }
}

export function timeZone() {
  return zone;
}

export function kindLabel(kind) {
  const key = `kind.${kind}`;
  const s = t(key);
  return s === key ? kind : s;
}

// HH:MM:SS in the scenario's zone.
export function fmtTime(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : timeFmt.format(d);
}

// YYYY-MM-DD in the scenario's zone.
export function fmtDate(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? "" : dateFmt.format(d);
}

// The zone's offset from UTC on a day (YYYY-MM-DD), as "+08:00", for the
// reports' day boundaries; taken at noon UTC of that day.
export function zoneOffset(day) {
  const at = day ? new Date(`${day}T12:00:00Z`) : new Date();
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = name.match(/GMT([+-]\d{2}):?(\d{2})?/);
  return m ? `${m[1]}:${m[2] ?? "00"}` : "+00:00";
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A place's short name for a label: "Yanguan" of "Yanguan, Zhan'ao Pagoda
// viewing area", "盐官" of "盐官，占鳌塔观潮区".
export function shortPlace(name) {
  return String(name ?? "").split(/[,(，（]/)[0].trim();
}
