// The wind on the page: the hangars' wind polled from GET /api/wind, and
// how a wind report is written and drawn (its strength class, its texts).
// Directions are as the API gives them: degrees clockwise from north the
// wind blows FROM.
import { api } from "./api.js";
import { t } from "./i18n.js";
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
  if (s < 90) return t("age.s", { n: Math.round(s) });
  if (s < 90 * 60) return t("age.min", { n: Math.round(s / 60) });
  return t("age.h", { n: (s / 3600).toFixed(1) });
}

// "8.1 m/s from 248°" (with ", gusts 9.6" when the report has gusts).
export function windText(w) {
  const gust = w.gust_mps != null ? t("wind.gusts", { gust: w.gust_mps.toFixed(1) }) : "";
  return t("wind.text", { speed: w.speed_mps.toFixed(1), deg: Math.round(w.from_deg) }) + gust;
}

// "8.1 m/s from 248°, gusts 9.6, 3 s ago, drone yg-1": the whole report.
export function windReportText(w) {
  const where = w.distance_m > 500 ? t("wind.away", { km: (w.distance_m / 1000).toFixed(1) }) : "";
  return `${windText(w)}, ${fmtAge(w.age_s)}${w.source ? `, ${w.source}` : ""}${where}`;
}

// An assignment's wind: "wind 8.1 m/s from 248°: out at 12.0 m/s over the
// ground, back at 15.0".
export function sortieWindText(sw) {
  const s = sw.strongest;
  return t("wind.sortie", {
    speed: s.speed_mps.toFixed(1), deg: Math.round(s.from_deg), gust: s.gust_mps.toFixed(1), source: s.source,
    age: fmtAge(s.age_s), out: sw.out_ground_speed_mps.toFixed(1), back: sw.back_ground_speed_mps.toFixed(1),
  });
}

// A drone passed over for the wind (`assignment.rejected`), or null for
// another reason.
export function windRejectionText(r) {
  if (r.reason === "wind_limit") {
    return t("wind.limit", {
      drone: r.drone, speed: r.wind_mps.toFixed(1), gust: r.gust_mps.toFixed(1), deg: Math.round(r.from_deg),
      max: r.max_wind_mps.toFixed(1), maxGust: r.max_gust_mps.toFixed(1), source: r.source, age: fmtAge(r.age_s),
    });
  }
  if (r.reason === "no_headway") {
    return t("wind.no_headway", {
      drone: r.drone, speed: r.wind_mps.toFixed(1), deg: Math.round(r.from_deg), air: r.max_airspeed_mps.toFixed(1),
    });
  }
  return null;
}

// Whether an incident's reason (queued, failed) is the wind grounding drones.
export function reasonNamesWind(reason) {
  return /\bwind\b|headway/i.test(reason ?? "");
}
