// Every drone on one canvas over the map, redrawn at most once per animation
// frame, so a thousand drones stay smooth: an arrow by heading coloured by
// state, the track while armed, a label with altitude and battery.
import { state, subscribe } from "../state.js";
import { droneStateColour } from "../status.js";

export function addDronesLayer(map) {
  const layer = new (droneLayerClass())().addTo(map);
  subscribe(["drones", "selection"], () => layer.redraw());
  return layer;
}

// Made on first use, not when the module loads: without Leaflet there is no
// L.Layer to extend, and the rest of the page must still load.
let DroneLayer = null;
function droneLayerClass() {
  DroneLayer ??= L.Layer.extend({
    onAdd(map) {
      // In its own pane (between the overlays and the tooltips), kept at the
      // container's top-left while the map pans, as Leaflet's renderers do.
      const pane = map.getPane("drones") ?? map.createPane("drones");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
      this._canvas = L.DomUtil.create("canvas", "drone-canvas", pane);
      this._reset = () => this.resize();
      map.on("moveend zoomend resize viewreset", this._reset);
      map.on("move", this._reset);
      this.resize();
    },
    onRemove(map) {
      map.off("moveend zoomend resize viewreset", this._reset);
      map.off("move", this._reset);
      this._canvas.remove();
    },
    resize() {
      const size = this._map.getSize();
      const dpr = window.devicePixelRatio || 1;
      this._canvas.width = size.x * dpr;
      this._canvas.height = size.y * dpr;
      this._canvas.style.width = `${size.x}px`;
      this._canvas.style.height = `${size.y}px`;
      this.draw();
    },
    redraw() {
      if (this._frame) return;
      this._frame = requestAnimationFrame(() => { this._frame = null; this.draw(); });
    },
    draw() {
      const map = this._map, c = this._canvas;
      if (!map || !c) return;
      L.DomUtil.setPosition(c, map.containerPointToLayerPoint([0, 0]));
      const ctx = c.getContext("2d");
      const dpr = window.devicePixelRatio || 1;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const size = map.getSize();
      ctx.clearRect(0, 0, size.x, size.y);
      const labels = state.drones.size <= 60 || map.getZoom() >= 12;
      ctx.font = "11px system-ui, sans-serif";
      const zoom = map.getZoom();
      const origin = map.getPixelBounds().min;
      for (const d of state.drones.values()) {
        const selected = d.id === state.selectedDrone;
        if (d.trail.length > 1 && (d.armed || selected)) {
          ctx.beginPath();
          trailPixels(map, d, zoom).forEach((q, i) => {
            i ? ctx.lineTo(q.x - origin.x, q.y - origin.y) : ctx.moveTo(q.x - origin.x, q.y - origin.y);
          });
          ctx.strokeStyle = selected ? "rgba(26,95,180,.9)" : "rgba(26,95,180,.45)";
          ctx.lineWidth = selected ? 2.5 : 1.5;
          ctx.stroke();
        }
        const abs = map.project([d.lat, d.lon], zoom);
        const p = { x: abs.x - origin.x, y: abs.y - origin.y };
        if (p.x < -20 || p.y < -20 || p.x > size.x + 20 || p.y > size.y + 20) continue;
        const airborne = d.armed && d.alt > 1;
        const r = selected ? 10 : airborne ? 8 : 5;
        ctx.save();
        ctx.translate(p.x, p.y);
        ctx.rotate(((d.heading || 0) * Math.PI) / 180);
        ctx.beginPath();
        ctx.moveTo(0, -r);
        ctx.lineTo(r * 0.7, r * 0.8);
        ctx.lineTo(0, r * 0.4);
        ctx.lineTo(-r * 0.7, r * 0.8);
        ctx.closePath();
        ctx.fillStyle = d.link === "lost" ? "#111" : droneStateColour(d.state, "#1a5fb4");
        ctx.fill();
        ctx.lineWidth = selected ? 2 : 1;
        ctx.strokeStyle = "#fff";
        ctx.stroke();
        ctx.restore();
        if (labels && (airborne || selected)) {
          const text = `${d.id} ${Math.round(d.alt)} m ${Math.round(d.battery ?? 0)}%`;
          ctx.lineWidth = 3;
          ctx.strokeStyle = "rgba(255,255,255,.9)";
          ctx.strokeText(text, p.x + 11, p.y - 8);
          ctx.fillStyle = "#1d2733";
          ctx.fillText(text, p.x + 11, p.y - 8);
        }
      }
    },
    // The drone under a container point, if any.
    hit(pt) {
      let best = null, bestD = 14;
      for (const d of state.drones.values()) {
        const p = this._map.latLngToContainerPoint([d.lat, d.lon]);
        const dist = Math.hypot(p.x - pt.x, p.y - pt.y);
        if (dist < bestD) { best = d; bestD = dist; }
      }
      return best;
    },
  });
  return DroneLayer;
}

// A track's absolute pixel positions at this zoom, cached per drone, so a
// redraw only subtracts the view's origin: positions added since the last
// draw (counted by the drone's `trailPushed`) are projected and appended,
// the oldest dropped; a new zoom or a reset track projects them all again.
const trailCache = new WeakMap();
function trailPixels(map, d, zoom) {
  const n = d.trail.length;
  const pushed = d.trailPushed ?? 0;
  let c = trailCache.get(d);
  const fresh = c ? pushed - c.pushed : -1;
  if (c && c.zoom === zoom && fresh >= 0 && fresh <= n && c.px.length + fresh >= n) {
    for (let k = n - fresh; k < n; k++) c.px.push(map.project(d.trail[k], zoom));
    if (c.px.length > n) c.px.splice(0, c.px.length - n);
    c.pushed = pushed;
    return c.px;
  }
  c = { zoom, pushed, px: d.trail.map(([la, lo]) => map.project([la, lo], zoom)) };
  trailCache.set(d, c);
  return c.px;
}
