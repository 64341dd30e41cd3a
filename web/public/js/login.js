// Logging in with an access token (typed, from ?token= or remembered in
// localStorage) and out again.
import { api, setToken } from "./api.js";
import { setTimeZone } from "./format.js";
import { t } from "./i18n.js";
import { setSession } from "./state.js";

const KEY = "dispatch-token";

// `onReady` runs once a token has been accepted.
export function initLogin(onReady) {
  document.querySelector("#login form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    login(document.getElementById("token").value.trim(), onReady);
  });
  document.getElementById("logout").addEventListener("click", () => {
    localStorage.removeItem(KEY);
    location.reload();
  });
  const fromUrl = new URLSearchParams(location.search).get("token");
  const saved = fromUrl ?? localStorage.getItem(KEY);
  if (saved) login(saved, onReady); else document.getElementById("login").hidden = false;
}

async function login(token, onReady) {
  setToken(token);
  let config;
  try {
    config = (await api("GET", "/api/config")).data;
  } catch (e) {
    setToken(null);
    localStorage.removeItem(KEY);
    document.getElementById("login").hidden = false;
    document.getElementById("login-error").textContent =
      e.status === 401 ? t("login.unknown") : t("login.cannot", { message: e.message });
    return;
  }
  localStorage.setItem(KEY, token);
  document.getElementById("login").hidden = true;
  setTimeZone(config.time_zone);
  setSession(config);
  onReady();
}
