// The map's own files, which `dispatcher serve` takes from web/ and which
// only exist after `npm ci && npm run build` there: Leaflet (from npm, at
// /vendor/leaflet/) and the basemap (/basemap.geojson). When one did not
// load, a banner says so with the command that builds them, and the console
// logs it; the rest of the page goes on without it.

import { esc } from "./format.js";
import { t } from "./i18n.js";

const BUILD = "cd web && npm ci && npm run build";
const DEMO = "bash scripts/demo.sh";
const missing = [];
let basemap = null;

// Leaflet's script is a classic <script> before the modules, so by the time
// a module runs it has either run or failed.
export function leafletLoaded() {
  return typeof window.L?.map === "function";
}

// The basemap's GeoJSON, fetched once; rejects when it is not there.
export function loadBasemap() {
  basemap ??= fetch("/basemap.geojson").then((r) => {
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  });
  return basemap;
}

// Checks both at start, before anyone logs in, so the banner is there at once.
export function checkAssets() {
  if (!leafletLoaded()) reportMissing("Leaflet (/vendor/leaflet/leaflet.js)", t("banner.leaflet"));
  loadBasemap().catch((e) => reportMissing("the basemap (/basemap.geojson)", t("banner.basemap"), e.message));
}

// `what` for the console (English, as the logs), `shown` for the banner.
function reportMissing(what, shown, why) {
  missing.push(shown);
  console.error(`map: ${what} did not load${why ? ` (${why})` : ""}; build the map's files with \`${BUILD}\` (or run \`${DEMO}\`)`);
  const banner = document.getElementById("assets-banner");
  const effect = t(leafletLoaded() ? "banner.no_sea" : "banner.no_map");
  banner.innerHTML = t("banner.missing_html", {
    what: missing.map(esc).join(esc(t("banner.and"))), build: BUILD, demo: DEMO, effect: esc(effect),
  });
  banner.hidden = false;
}
