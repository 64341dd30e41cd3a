// HTTP to the dispatcher's API with the operator's token: the only module
// that holds the token and writes the Authorization header, and the only
// one that knows which server of a cluster the page talks to (`base`: ""
// for the page's own, else another server's origin, see servers.js).

let token = null;
let base = "";
// Called when a server does not answer (servers.js: look for another);
// resolves true when the page moved to another server.
let unreachable = async () => false;

export function setToken(t) {
  token = t;
}

export function getToken() {
  return token;
}

export function setBase(origin) {
  base = origin;
}

export function getBase() {
  return base;
}

export function onUnreachable(f) {
  unreachable = f;
}

// An address on the current server with the token in its query, for what
// cannot send the Authorization header (an <img>: the video, a still).
export function tokenUrl(path, params = {}) {
  const q = new URLSearchParams({ token: token ?? "", ...params });
  return `${base}${path}?${q}`;
}

// The websocket's URL on the current server.
export function wsUrl(pathAndQuery) {
  const origin = base || location.origin;
  return origin.replace(/^http/, "ws") + pathAndQuery;
}

// While no server leads (the seconds of a fail-over) a follower answers
// 503 `no_leader`/`leader_lost`/`bus`; a dead server does not answer at all.
const FAILOVER_CODES = new Set(["no_leader", "leader_lost", "bus", "leader_timeout"]);
const RETRY_FOR_MS = 20000;

// A JSON request; an error status is thrown as an Error carrying `status`
// and the API's message. A GET, or a write the caller marks `idempotent`
// (a report with its `external_id`), is sent again while the cluster fails
// over, on whichever server answers; any other write is sent once.
export async function api(method, path, body, { idempotent = method === "GET" } = {}) {
  const until = Date.now() + RETRY_FOR_MS;
  for (;;) {
    let r;
    try {
      r = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      // No answer at all: the server is gone (or the network).
      const moved = await unreachable();
      if (idempotent && Date.now() < until) {
        if (!moved) await sleep(1000);
        continue;
      }
      const err = new Error(moved ? `no answer from the server (${e.message}); now connected to another: send again` : `no answer from the server: ${e.message}`);
      err.status = 0;
      throw err;
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!r.ok) {
      if (idempotent && FAILOVER_CODES.has(data?.error?.code) && Date.now() < until) {
        await sleep(1000 * Math.min(5, Number(r.headers.get("retry-after")) || 1));
        continue;
      }
      const e = new Error(data?.error?.message ?? `HTTP ${r.status}`);
      e.status = r.status;
      e.code = data?.error?.code;
      throw e;
    }
    return { status: r.status, data };
  }
}

// A GET whose answer is not JSON (a CSV download).
export function getRaw(path) {
  return fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
}

function sleep(ms) {
  return new Promise((res) => setTimeout(res, ms));
}
