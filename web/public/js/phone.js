// The page on a phone (phone.css's width, up to 700 px): the header's menu
// button (☰) opens and closes its controls, and the side panel is a bottom
// sheet over the map. The sheet opens with the buttons over the map
// (incidents, drones), a view chosen in the menu, or a drone or incident
// selected on the map; its ✕, a swipe down on its bar or Escape close it.
// On a wider screen none of this shows and the panel stays at the side.
import { getMap } from "./map.js";
import { setSheet, setView, state, subscribe } from "./state.js";

const PHONE = window.matchMedia("(max-width: 700px)");
const SWIPE_PX = 50;

export function isPhone() {
  return PHONE.matches;
}

export function initPhone() {
  const header = document.querySelector("header");
  const menuButton = document.getElementById("menu-button");
  const setMenu = (open) => {
    header.classList.toggle("menu-open", open);
    menuButton.setAttribute("aria-expanded", String(open));
  };
  menuButton.addEventListener("click", () => setMenu(!header.classList.contains("menu-open")));
  // A choice in the menu closes it; a view chosen there opens the sheet on it.
  for (const b of document.querySelectorAll("#header-menu button")) {
    b.addEventListener("click", () => {
      setMenu(false);
      if (b.dataset.view && isPhone()) setSheet(true);
    });
  }
  document.getElementById("map").addEventListener("pointerdown", () => setMenu(false));

  for (const b of document.querySelectorAll("#sheet-tabs button")) {
    b.addEventListener("click", () => {
      setView(b.dataset.sheet);
      setSheet(true);
    });
  }
  document.getElementById("sheet-close").addEventListener("click", () => setSheet(false));
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    setMenu(false);
    setSheet(false);
  });
  swipeDownCloses(document.getElementById("sheet-bar"));

  subscribe("sheet", () => document.body.classList.toggle("sheet-open", state.sheetOpen));
  subscribe("view", () => {
    for (const v of ["dispatch", "crew", "reports"]) document.body.classList.toggle(`view-${v}`, state.view === v);
  });
  // Something chosen on the map: its panel comes up (with the incident
  // list under it: the reports have no selection panel).
  subscribe("selection", () => {
    if (!isPhone() || !(state.selectedDrone || state.selectedIncident)) return;
    if (state.view === "reports") setView("dispatch");
    setSheet(true);
    requestAnimationFrame(keepInSight);
  });
  // Turned to a wide screen: no sheet, no menu.
  PHONE.addEventListener("change", () => { if (!isPhone()) { setMenu(false); setSheet(false); } });
}

// The selected drone or incident where the sheet does not cover it: panned
// into the middle of the map's part above the sheet when it is under it.
function keepInSight() {
  const map = getMap();
  const d = state.selectedDrone && state.drones.get(state.selectedDrone);
  const i = state.selectedIncident != null && state.incidents.get(state.selectedIncident);
  const at = d ? [d.lat, d.lon] : i ? [i.position.lat, i.position.lon] : null;
  if (!map || !at) return;
  const mapBox = map.getContainer().getBoundingClientRect();
  // Where the sheet's top comes to rest (its box without the slide's transform).
  const free = window.innerHeight - document.getElementById("panel").offsetHeight - mapBox.top;
  const p = map.latLngToContainerPoint(at);
  if (p.y > 20 && p.y < free - 20) return;
  map.panBy([0, p.y - free / 2], { animate: false });
}

function swipeDownCloses(bar) {
  let startY = null;
  bar.addEventListener("pointerdown", (ev) => {
    startY = ev.clientY;
    bar.setPointerCapture(ev.pointerId); // its pointerup comes here, wherever the finger ends
  });
  bar.addEventListener("pointerup", (ev) => {
    if (startY != null && ev.clientY - startY > SWIPE_PX) setSheet(false);
    startY = null;
  });
  bar.addEventListener("pointercancel", () => { startY = null; });
}
