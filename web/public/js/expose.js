// window.dispatchMap: the page's state, layers and a few actions, for the
// browser test and for curious operators at the console. Read-only views of
// the state; changes still go through state.js.
import { isDirty, markDirty, renderLists } from "./lists.js";
import { getMap, layers } from "./map.js";
import { replay } from "./replay.js";
import { lastReports, loadReports } from "./reports.js";
import { fmtTime, timeZone } from "./format.js";
import { lang } from "./i18n.js";
import { selectDrone, selectIncident, setSheet, state } from "./state.js";

export function expose() {
  const handle = {
    selectDrone, selectIncident, renderLists, replay, loadReports, setSheet, fmtTime, lang,
    get timeZone() { return timeZone(); },
    get listsDirty() { return isDirty(); },
    set listsDirty(v) { if (v) markDirty(); },
    get map() { return getMap(); },
    get zonesLayer() { return layers.zones; },
    get routeLayer() { return layers.routes; },
    get incidentLayer() { return layers.incidents; },
    get hangarLayer() { return layers.hangars; },
    get droneLayer() { return layers.drones; },
    get windLayer() { return layers.wind; },
    get trafficLayer() { return layers.traffic; },
    get responseTimes() { return lastReports.responseTimes; },
    get daily() { return lastReports.daily; },
  };
  for (const k of ["config", "role", "drones", "hangars", "incidents", "zones", "hangarWind", "alerts",
    "selectedDrone", "selectedIncident", "view", "sheetOpen", "lastTime", "telemetryMessages", "traffic", "server", "live"]) {
    Object.defineProperty(handle, k, { get: () => state[k], enumerable: true });
  }
  window.dispatchMap = handle;
}
