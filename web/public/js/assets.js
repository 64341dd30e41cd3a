// The map's own files, which `dispatcher serve` takes from web/ and which
// only exist after `npm ci && npm run build` there: Leaflet (from npm, at
// /vendor/leaflet/) and the basemap (/basemap.geojson). When one did not
// load, a banner says so with the command that builds them, and the console
// logs it; the rest of the page goes on without it.

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
  if (!leafletLoaded()) reportMissing("Leaflet (/vendor/leaflet/leaflet.js)");
  loadBasemap().catch((e) => reportMissing("the basemap (/basemap.geojson)", e.message));
}

function reportMissing(what, why) {
  missing.push(what);
  console.error(`map: ${what} did not load${why ? ` (${why})` : ""}; build the map's files with \`${BUILD}\` (or run \`${DEMO}\`)`);
  const banner = document.getElementById("assets-banner");
  const effect = leafletLoaded()
    ? "The map works without its sea and coastline."
    : "There is no map until then; the lists, panels and reports work without it.";
  banner.innerHTML = `<b>The map's files are missing:</b> ${missing.join(" and ")} did not load. ` +
    `Build them with <code>${BUILD}</code> (or start the demo with <code>${DEMO}</code>), then reload this page. ${effect}`;
  banner.hidden = false;
}
