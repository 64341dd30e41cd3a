// The websocket: a snapshot, then telemetry batches and events, each turned
// into a state update. Reconnects with a backoff of up to 10 s; when its
// server is gone, at once to another server of the cluster (servers.js).
import { api, getToken, wsUrl } from "./api.js";
import { failover } from "./servers.js";
import {
  addAlert, addDroneEvent, applyDroneState, applyIncidentEvent, applySnapshot, applyTelemetry,
  addStill, applyTraffic, setClock, setConnection, setZones,
} from "./state.js";
import { label, t } from "./i18n.js";

let retryMs = 500;

export function connect() {
  const ws = new WebSocket(wsUrl(`/ws?token=${encodeURIComponent(getToken())}&rate=5`));
  ws.onopen = () => { retryMs = 500; setConnection(true); };
  ws.onclose = async (ev) => {
    setConnection(false, ev.reason);
    const moved = await failover();
    setTimeout(connect, moved ? 0 : retryMs);
    retryMs = moved ? 500 : Math.min(retryMs * 2, 10000);
  };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    switch (m.type) {
      case "snapshot": applySnapshot(m); break;
      case "telemetry": applyTelemetry(m.drones); break;
      case "drone":
        applyDroneState(m.drone, m.state);
        if (m.state === "lost" || m.state === "maintenance") {
          addAlert({ severity: "warning", t: m.t, drone: m.drone, local: true,
            message: t("alert.drone_state", { state: label("dstate", m.state), note: m.note }) });
        }
        break;
      case "incident": applyIncidentEvent(m); break;
      case "zone":
        refreshZones();
        addAlert({ severity: "info", t: m.t, local: true, message: t("alert.zone", { zone: m.zone, change: m.change }) });
        break;
      case "alert": addAlert(m); break;
      // Information from a vehicle and command outcomes are the drone's story;
      // warnings and failures also come as alerts.
      case "vehicle": addDroneEvent(m.drone, { t: m.t, text: m.text }); break;
      case "command":
        addDroneEvent(m.drone, { t: m.t, local: true,
          text: t(m.ok ? "story.command" : "story.command_failed", { command: label("cmd", m.command), note: m.detail }) });
        break;
      case "notice": console.info(`dispatcher: ${m.message}`); break;
      case "link": addDroneEvent(m.drone, { t: m.t, local: true, text: t("story.link", { status: label("link", m.status) }) }); break;
      case "traffic": applyTraffic(m); break;
      case "still": addStill(m.still); break;
      // What manned traffic made a drone do: its story, and a line in the alerts.
      case "airspace":
        if (m.drone) addDroneEvent(m.drone, { t: m.t, local: true, text: t("story.traffic", { step: m.step.replaceAll("_", " "), note: m.note }) });
        addAlert({ severity: "info", t: m.t, drone: m.drone, local: true, message: t("alert.traffic", { aircraft: m.aircraft, note: m.note }) });
        break;
      // A drone sent home early: how its way home was separated from our
      // other sorties, in its story (a conflict no hold clears also comes
      // as an alert).
      case "dispatch":
        if (m.output?.type === "homeward" && m.output.note) {
          addDroneEvent(m.output.drone, { t: m.t, local: true, text: t("story.way_home", { note: m.output.note }) });
        }
        break;
      case "resync": ws.close(); break;
      default: break;
    }
    if (m.t) setClock(m.t);
  };
}

// A zone changed: the event names it, the API has the new set.
async function refreshZones() {
  try {
    const { data } = await api("GET", "/api/zones");
    setZones(data);
  } catch (e) { addAlert({ severity: "warning", local: true, message: t("alert.zones_failed", { message: e.message }) }); }
}
