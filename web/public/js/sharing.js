// The incident panel's "Share" and "Revoke": a dispatcher makes a read-only
// link to the incident (POST /api/shares), which is copied to the
// clipboard and shown, and revokes the incident's links (DELETE
// /api/shares/{id}). The links made in this page are remembered in memory
// only: the server keeps no token, so a link cannot be shown again later.
import { api, getBase } from "./api.js";
import { esc, fmtTime } from "./format.js";
import { t } from "./i18n.js";

const links = new Map(); // share id -> its full link, made in this page
let shares = []; // GET /api/shares, as last read
let shown = null; // the incident the box was last filled for

// The share controls for incident `id`, in `box` (a div of the panel).
export function shareControls(box, id) {
  render(box, id);
  if (shown !== id) {
    shown = id;
    refresh().then(() => render(box, id)).catch(() => {});
  }
}

async function refresh() {
  const { data } = await api("GET", "/api/shares");
  shares = data;
}

function render(box, id) {
  const mine = shares.filter((s) => s.incident === id && s.status === "active");
  box.innerHTML = `<div class="buttons"><button data-share="1" title="${esc(t("share.button_title"))}">${esc(t("share.button"))}</button></div>` +
    mine.map((s) => `<div class="share-link" data-share-id="${s.id}">${esc(t("share.link", { id: s.id, until: fmtTime(s.expires_at), opened: s.opened }))}
      ${links.has(s.id) ? `<input readonly class="share-url" value="${esc(links.get(s.id))}">` : ""}
      <button data-revoke="${s.id}">${esc(t("share.revoke"))}</button></div>`).join("") +
    `<div class="msg share-msg"></div>`;
  const msg = box.querySelector(".share-msg");
  box.querySelector("[data-share]").addEventListener("click", async () => {
    try {
      const { data } = await api("POST", "/api/shares", { incident: id });
      const url = (getBase() || location.origin) + data.url;
      links.set(data.id, url);
      await refresh();
      render(box, id);
      const copied = await navigator.clipboard?.writeText(url).then(() => true, () => false);
      box.querySelector(".share-msg").textContent = t(copied ? "share.copied" : "share.copy");
      box.querySelector(`[data-share-id="${data.id}"] .share-url`)?.select();
    } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  });
  for (const b of box.querySelectorAll("[data-revoke]")) {
    b.addEventListener("click", async () => {
      try {
        await api("DELETE", `/api/shares/${b.dataset.revoke}`);
        links.delete(Number(b.dataset.revoke));
        await refresh();
        render(box, id);
        box.querySelector(".share-msg").textContent = t("share.revoked", { id: b.dataset.revoke });
      } catch (e) { msg.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
    });
  }
}
