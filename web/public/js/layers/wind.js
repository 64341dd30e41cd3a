// Wind arrows: one beside each hangar with a wind report (GET /api/wind, the
// nearest recent source) and one beside each flying or selected drone with
// its own estimate (telemetry), unless it is by a hangar. An arrow points
// the way the wind blows TO; its length and colour go with the speed (green
// calm, amber moderate, red strong), the label gives the speed (and the
// gusts at hangars), the tooltip the whole report; a report older than five
// minutes is faded.
//
// Leaflet divIcons with an inline SVG: an icon is made again only when what
// it shows changes (speed to 0.1 m/s, direction to the degree, staleness),
// and a drone's marker otherwise only moves.
import { esc } from "../format.js";
import { localName, t } from "../i18n.js";
import { state, subscribe } from "../state.js";
import { downwindDeg, fmtAge, isStale, windLevel, windReportText, windText } from "../wind.js";

// The icon: the arrow in a BOX x BOX square left of its hangar or drone,
// its centre level with it, and the label right of it, under the hangar's
// name or the drone's own label. Only the arrow takes the mouse: the rest of
// the box lets it through to the hangar's marker and the map.
const BOX = 40;
const GAP = 10; // from the arrow's square to the hangar or drone
const LABEL_W = 130;
const ANCHOR = [BOX + GAP, BOX / 2];
// Closer than this to a hangar, a drone's arrow and label would lie over the
// hangar's: it draws none.
const NEAR_PX = { x: 60, y: 24 };

export function addWindLayer(map) {
  const layer = L.layerGroup().addTo(map);
  // "hangar:ID" / "drone:ID" -> marker; the key is also the icon's
  // data-wind attribute, by which the browser test finds it.
  const hangarMarkers = new Map();
  const droneMarkers = new Map();

  const renderHangars = () => {
    const seen = new Set();
    for (const h of state.hangarWind) {
      if (!h.wind) continue;
      seen.add(`hangar:${h.hangar}`);
      const name = localName(state.config, "hangars", h.hangar, state.hangars.find((x) => x.id === h.hangar)?.name ?? h.hangar);
      place(layer, hangarMarkers, `hangar:${h.hangar}`, [h.position.lat, h.position.lon], h.wind, true,
        () => `<b>${esc(t("wind.at", { name }))}</b><br>${esc(windReportText(h.wind))}`);
    }
    drop(layer, hangarMarkers, seen);
  };

  // A drone next to a hangar with an arrow (taking off, landing) leaves the
  // wind to the hangar's arrow rather than drawing its own over it.
  const renderDrones = () => {
    const seen = new Set();
    const hangarPoints = state.hangarWind.filter((h) => h.wind)
      .map((h) => map.latLngToContainerPoint([h.position.lat, h.position.lon]));
    const byAHangar = (d) => {
      const p = map.latLngToContainerPoint([d.lat, d.lon]);
      return hangarPoints.some((q) => Math.abs(p.x - q.x) < NEAR_PX.x && Math.abs(p.y - q.y) < NEAR_PX.y);
    };
    for (const d of state.drones.values()) {
      if (!d.wind || !(d.armed || d.id === state.selectedDrone) || byAHangar(d)) continue;
      seen.add(`drone:${d.id}`);
      place(layer, droneMarkers, `drone:${d.id}`, [d.lat, d.lon], d.wind, false,
        () => `<b>${esc(t("wind.own", { drone: d.id }))}</b><br>${esc(windText(d.wind))}, ${esc(fmtAge(d.wind.age_s))}`);
    }
    drop(layer, droneMarkers, seen);
  };

  subscribe(["wind", "hangars"], renderHangars);
  subscribe(["drones", "selection", "wind"], renderDrones);
  map.on("zoomend", renderDrones);
  renderHangars();
  renderDrones();
  return layer;
}

// Adds or updates the marker of `id`; the tooltip is written when it opens,
// from the marker's current report.
function place(layer, markers, id, latlng, wind, withGust, tooltip) {
  const key = iconKey(wind, withGust);
  let m = markers.get(id);
  if (!m) {
    m = L.marker(latlng, { icon: windIcon(id, wind, withGust), keyboard: false, riseOnHover: true });
    m.bindTooltip(() => m.windTooltip(), { direction: "top" });
    m.windKey = key;
    markers.set(id, m);
    m.addTo(layer);
  } else {
    const at = m.getLatLng();
    if (at.lat !== latlng[0] || at.lng !== latlng[1]) m.setLatLng(latlng);
    if (m.windKey !== key) {
      m.setIcon(windIcon(id, wind, withGust));
      m.windKey = key;
    }
  }
  m.windTooltip = tooltip;
  if (m.isTooltipOpen()) m.setTooltipContent(tooltip());
}

function drop(layer, markers, keep) {
  for (const [id, m] of markers) {
    if (!keep.has(id)) { layer.removeLayer(m); markers.delete(id); }
  }
}

function iconKey(w, withGust) {
  return `${w.speed_mps.toFixed(1)}|${withGust ? w.gust_mps.toFixed(1) : ""}|${Math.round(w.from_deg)}|${isStale(w)}`;
}

function windIcon(id, w, withGust) {
  const level = windLevel(w.speed_mps);
  // 18 px for still air to the whole box from 16 m/s.
  const len = Math.round(18 + (Math.min(w.speed_mps, 16) / 16) * (BOX - 18));
  const arrow = "M0 10 L0 -6 M-5 -3 L0 -10 L5 -3";
  const speed = w.speed_mps.toFixed(1);
  const text = withGust ? t("wind.label_gust", { speed, gust: w.gust_mps.toFixed(1) }) : t("wind.label", { speed });
  return L.divIcon({
    className: `wind-icon wind-${level}${isStale(w) ? " wind-stale" : ""}`,
    iconSize: [BOX + GAP + LABEL_W, BOX],
    iconAnchor: ANCHOR,
    tooltipAnchor: [-(GAP + BOX / 2), -BOX / 2], // over the arrow
    html: `<div class="wind-arrow" data-wind="${esc(id)}"><svg width="${len}" height="${len}" viewBox="-12 -12 24 24"
        style="transform: rotate(${downwindDeg(w.from_deg)}deg)" aria-hidden="true">
        <path class="halo" d="${arrow}"/><path d="${arrow}"/></svg></div>
      <span class="wind-label" style="left: ${BOX + GAP + 12}px; top: ${BOX / 2 + 6}px">${esc(text)}</span>`,
  });
}
