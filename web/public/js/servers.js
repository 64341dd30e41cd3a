// Which server of a cluster the page talks to. The page comes from one of
// `[cluster] servers` (the config's `servers`); when that one stops
// answering, the websocket and the API move to the next that does (the
// servers allow each other's origin, CORS). The header shows the server
// in use and its place in the cluster, from its own /api/health.
import { getBase, onUnreachable, setBase } from "./api.js";
import { t } from "./i18n.js";
import { addAlert, setServer } from "./state.js";

const PROBE_MS = 2500;
const REFRESH_MS = 5000;

let servers = [];
let moving = null;

// `list`: the config's `servers` (empty for a single server).
export function initServers(list) {
  servers = list.map((s) => new URL(s).origin);
  onUnreachable(() => failover());
  refresh();
  setInterval(refresh, REFRESH_MS);
}

function current() {
  return getBase() || location.origin;
}

async function health(origin) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), PROBE_MS);
  try {
    const r = await fetch(`${origin}/api/health`, { signal: ctl.signal, cache: "no-store" });
    return await r.json();
  } finally {
    clearTimeout(timer);
  }
}

function describe(origin, h) {
  const c = h?.cluster;
  return { origin, node: c?.node ?? null, role: c?.role ?? null, leader: c?.leader ?? null, up: true };
}

async function refresh() {
  const origin = current();
  try {
    setServer(describe(origin, await health(origin)));
  } catch {
    setServer({ origin, up: false });
  }
}

// Resolves true when the page moved to another server: the current one did
// not answer its health and another did. One search at a time.
export function failover() {
  moving ??= search().finally(() => { moving = null; });
  return moving;
}

async function search() {
  const from = current();
  try {
    setServer(describe(from, await health(from)));
    return false;
  } catch { /* gone: look further */ }
  setServer({ origin: from, up: false });
  if (servers.length < 2) return false;
  const start = Math.max(0, servers.indexOf(from));
  for (let i = 1; i <= servers.length; i += 1) {
    const next = servers[(start + i) % servers.length];
    if (next === from) continue;
    try {
      const h = await health(next);
      setBase(next === location.origin ? "" : next);
      setServer(describe(next, h));
      const name = h?.cluster?.node ? t("server.named", { node: h.cluster.node }) : next;
      addAlert({ severity: "warning", local: true, message: t("alert.failover", { from, name, next }) });
      return true;
    } catch { /* that one neither */ }
  }
  return false;
}
