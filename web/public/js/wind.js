// The wind on the page: the hangars' wind polled from GET /api/wind, and
// how a wind report is written and drawn (its strength class, its texts).
// Directions are as the API gives them: degrees clockwise from north the
// wind blows FROM.
import { api } from "./api.js";
import { setHangarWind } from "./state.js";

const POLL_MS = 10000;
// A report older than this is drawn faded: the wind may have changed since.
export const STALE_S = 300;

// Asks at once, then every POLL_MS. A failed poll keeps the last answer (its
// ages then grow stale on the next good one) and logs the error.
export function startWindPolling() {
  const poll = async () => {
    try {
      setHangarWind((await api("GET", "/api/wind")).data.hangars);
    } catch (e) {
      console.warn(`wind: ${e.message}`);
    }
  };
  poll();
  setInterval(poll, POLL_MS);
}

// calm under 6 m/s, moderate up to 10, strong above.
export function windLevel(speedMps) {
  return speedMps > 10 ? "strong" : speedMps >= 6 ? "moderate" : "calm";
}

export function isStale(w) {
  return (w.age_s ?? 0) > STALE_S;
}

// The bearing the wind blows TO, which the map's arrows point along.
export function downwindDeg(fromDeg) {
  return (fromDeg + 180) % 360;
}

export function fmtAge(s) {
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

const mps = (v) => `${v.toFixed(1)} m/s`;

// "8.1 m/s from 248°" (with ", gusts 9.6" when the report has gusts).
export function windText(w) {
  const gust = w.gust_mps != null ? `, gusts ${w.gust_mps.toFixed(1)}` : "";
  return `${mps(w.speed_mps)} from ${Math.round(w.from_deg)}°${gust}`;
}

// "8.1 m/s from 248°, gusts 9.6, 3 s ago, drone yg-1": the whole report.
export function windReportText(w) {
  const where = w.distance_m > 500 ? `, ${(w.distance_m / 1000).toFixed(1)} km away` : "";
  return `${windText(w)}, ${fmtAge(w.age_s)}${w.source ? `, ${w.source}` : ""}${where}`;
}

// An assignment's wind: "wind 8.1 m/s from 248°: out at 12.0 m/s over the
// ground, back at 15.0".
export function sortieWindText(sw) {
  const s = sw.strongest;
  return `wind ${mps(s.speed_mps)} from ${Math.round(s.from_deg)}° (gusts ${s.gust_mps.toFixed(1)}, ${s.source}, ` +
    `${fmtAge(s.age_s)}): out at ${mps(sw.out_ground_speed_mps)} over the ground, back at ${sw.back_ground_speed_mps.toFixed(1)}`;
}

// A drone passed over for the wind (`assignment.rejected`), or null for
// another reason.
export function windRejectionText(r) {
  if (r.reason === "wind_limit") {
    return `${r.drone}: wind ${mps(r.wind_mps)} gusting ${r.gust_mps.toFixed(1)} from ${Math.round(r.from_deg)}° ` +
      `over its limits of ${mps(r.max_wind_mps)}, gusts ${r.max_gust_mps.toFixed(1)} (${r.source}, ${fmtAge(r.age_s)})`;
  }
  if (r.reason === "no_headway") {
    return `${r.drone}: wind ${mps(r.wind_mps)} from ${Math.round(r.from_deg)}° is more than its airspeed of ${mps(r.max_airspeed_mps)}`;
  }
  return null;
}

// Whether an incident's reason (queued, failed) is the wind grounding drones.
export function reasonNamesWind(reason) {
  return /\bwind\b|headway/i.test(reason ?? "");
}
