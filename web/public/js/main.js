// The page's entry point (loaded with <script type="module">): writes its
// fixed texts in the page's language, checks the map's files, wires the
// views to the state, logs in and then starts the map, the websocket, the
// lists' refresh and the wind's polling.
import { checkAssets } from "./assets.js";
import { expose } from "./expose.js";
import { initHeader } from "./header.js";
import { applyStatic } from "./i18n.js";
import { initLists, startLists } from "./lists.js";
import { initLogin } from "./login.js";
import { startMap } from "./map.js";
import { initPhone } from "./phone.js";
import { initReports } from "./reports.js";
import { initSelected } from "./selected.js";
import { initServers } from "./servers.js";
import { initStills } from "./stills.js";
import { connect } from "./socket.js";
import { state } from "./state.js";
import { startWindPolling } from "./wind.js";

applyStatic();
checkAssets();
expose();
initHeader();
initPhone();
initSelected();
initStills();
initLists();
initReports();

let started = false;
initLogin(() => {
  if (started) return;
  started = true;
  startMap(state.config);
  initServers(state.config.servers ?? []);
  connect();
  startLists();
  startWindPolling();
});
