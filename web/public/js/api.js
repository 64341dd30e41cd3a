// HTTP to the dispatcher's API with the operator's token: the only module
// that holds the token and writes the Authorization header.

let token = null;

export function setToken(t) {
  token = t;
}

export function getToken() {
  return token;
}

// A JSON request; an error status is thrown as an Error carrying `status`
// and the API's message.
export async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const e = new Error(data?.error?.message ?? `HTTP ${r.status}`);
    e.status = r.status;
    throw e;
  }
  return { status: r.status, data };
}

// A GET whose answer is not JSON (a CSV download).
export function getRaw(path) {
  return fetch(path, { headers: { Authorization: `Bearer ${token}` } });
}
