// Builds the offline basemap of the map: the sea from OpenStreetMap-derived
// coastline data (@geo-maps/earth-seas-10m, ODbL, "© OpenStreetMap
// contributors"), clipped to the scenario's region, plus the Qiantang river
// channel upstream of Daquekou, which that data set does not hold, drawn
// from the scenario's landmarks; and the boundaries and Chinese names of
// the districts and counties of Jiaxing and Hangzhou (districts.mjs).
//
// usage: node scripts/basemap.mjs [path/to/scenario.toml] [out.geojson]
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DISTRICTS_ATTRIBUTION, districtFeatures } from "./districts.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const config = resolve(process.argv[2] ?? `${here}/../../config/haining.toml`);
const out = resolve(process.argv[3] ?? `${here}/../build/basemap.geojson`);

// The region line of the scenario: region = { min_lat = .., min_lon = .., ... }.
const toml = readFileSync(config, "utf8");
const num = (k) => {
  const m = toml.match(new RegExp(`${k}\\s*=\\s*(-?[0-9.]+)`));
  if (!m) throw new Error(`${config}: no ${k} in the region`);
  return Number(m[1]);
};
const pad = 0.05;
const box = {
  minX: num("min_lon") - pad,
  minY: num("min_lat") - pad,
  maxX: num("max_lon") + pad,
  maxY: num("max_lat") + pad,
};

// Sutherland-Hodgman clipping of one ring against the box, edge by edge.
function clipRing(ring) {
  const edges = [
    [(p) => p[0] >= box.minX, (a, b) => cut(a, b, 0, box.minX)],
    [(p) => p[0] <= box.maxX, (a, b) => cut(a, b, 0, box.maxX)],
    [(p) => p[1] >= box.minY, (a, b) => cut(a, b, 1, box.minY)],
    [(p) => p[1] <= box.maxY, (a, b) => cut(a, b, 1, box.maxY)],
  ];
  let pts = ring.slice(0, -1);
  for (const [inside, meet] of edges) {
    const next = [];
    for (let i = 0; i < pts.length; i++) {
      const a = pts[i];
      const b = pts[(i + 1) % pts.length];
      if (inside(b)) {
        if (!inside(a)) next.push(meet(a, b));
        next.push(b);
      } else if (inside(a)) {
        next.push(meet(a, b));
      }
    }
    pts = next;
    if (pts.length === 0) return null;
  }
  if (pts.length < 3) return null;
  pts.push(pts[0]);
  return pts.map(([x, y]) => [round(x), round(y)]);
}
function cut(a, b, axis, v) {
  const t = (v - a[axis]) / (b[axis] - a[axis]);
  return axis === 0 ? [v, a[1] + t * (b[1] - a[1])] : [a[0] + t * (b[0] - a[0]), v];
}
const round = (v) => Math.round(v * 1e5) / 1e5;

function overlaps(ring) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of ring) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return !(maxX < box.minX || minX > box.maxX || maxY < box.minY || minY > box.maxY);
}

const seas = JSON.parse(
  readFileSync(`${here}/../node_modules/@geo-maps/earth-seas-10m/map.geo.json`, "utf8"),
);
const polygons = [];
for (const g of seas.geometries) {
  const polys = g.type === "MultiPolygon" ? g.coordinates : g.type === "Polygon" ? [g.coordinates] : [];
  for (const poly of polys) {
    if (!overlaps(poly[0])) continue;
    const outer = clipRing(poly[0]);
    if (!outer) continue;
    const holes = poly.slice(1).filter(overlaps).map(clipRing).filter(Boolean);
    polygons.push([outer, ...holes]);
  }
}

// The river channel upstream of the data's coverage: a centreline south of
// the viewing spots (Daquekou, Yanguan, Laoyancang) widened to a band.
const centre = [
  [120.70, 30.352], [120.676, 30.362], [120.62, 30.372], [120.575, 30.382], [120.539, 30.386],
  [120.50, 30.374], [120.475, 30.356], [120.457, 30.337], [120.43, 30.318], [120.40, 30.300],
  [120.36, 30.278], [120.32, 30.262],
];
const halfWidthDeg = (i) => 0.010 - (0.004 * i) / (centre.length - 1);
const left = [], right = [];
for (let i = 0; i < centre.length; i++) {
  const a = centre[Math.max(0, i - 1)], b = centre[Math.min(centre.length - 1, i + 1)];
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  const nx = -dy / len, ny = dx / len;
  const w = halfWidthDeg(i);
  left.push([round(centre[i][0] + nx * w), round(centre[i][1] + ny * w)]);
  right.push([round(centre[i][0] - nx * w), round(centre[i][1] - ny * w)]);
}
const river = [...left, ...right.reverse(), left[0]];

const attribution = "© OpenStreetMap contributors (ODbL), via @geo-maps/earth-seas-10m";
const districts = districtFeatures(`${here}/../node_modules`, box);
const fc = {
  type: "FeatureCollection",
  attribution: `${attribution}; ${DISTRICTS_ATTRIBUTION}`,
  bbox: [box.minX, box.minY, box.maxX, box.maxY],
  features: [
    { type: "Feature", properties: { layer: "sea", attribution }, geometry: { type: "MultiPolygon", coordinates: polygons } },
    { type: "Feature", properties: { layer: "river", note: "drawn from the scenario's landmarks" }, geometry: { type: "Polygon", coordinates: [river] } },
    ...districts,
  ],
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(fc));
const vertices = polygons.reduce((n, p) => n + p.reduce((m, r) => m + r.length, 0), 0);
const districtVertices = districts.reduce((n, f) => n + f.geometry.coordinates.reduce((m, r) => m + r.length, 0), 0);
console.log(`basemap: ${polygons.length} sea polygons (${vertices} vertices), the river channel and ` +
  `${districts.length} districts (${districtVertices} vertices) -> ${out}`);
