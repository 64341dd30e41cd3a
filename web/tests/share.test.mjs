// Browser test of a shared view, in headless Chromium (Debian's package)
// driven by playwright-core: starts `dispatcher serve --sim`, logs in as the
// demo dispatcher, reports a person in the water at Laoyancang, presses
// "Share" in the incident's panel, opens the link in a fresh browser (no
// token, no login), checks that only the shared drone is on its map and
// moves there, saves docs/img/share-view.png, then presses "Revoke" and
// checks that the shared page says so within a couple of seconds. The
// viewers' browsers run on UTC: times must be the scenario's (Asia/Shanghai).
// Then a drone shared on its own (hn-1, which has a camera), opened on a
// phone in Chinese: its live video through the share's relay, ended by the
// revocation; saves docs/img/share-drone-phone.png.
//
// env: DISPATCHER (the binary, default ../target/debug/dispatcher),
//      CHROMIUM (default /usr/bin/chromium), SHOTS (default ../docs/img).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.DISPATCHER ?? join(root, "target/debug/dispatcher");
const shots = resolve(process.env.SHOTS ?? join(root, "docs/img"));
mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "FAILED"} - ${name}${detail ? `: ${detail}` : ""}`);
}

async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const eventLog = join(mkdtempSync(join(tmpdir(), "dispatch-log-")), "events.sqlite");
const server = spawn(bin, [
  "serve", "--config", join(root, "config/haining.toml"), "--listen", "127.0.0.1:0",
  "--sim", "--sim-speedup", "30", "--time", "2026-09-28T13:00:00+08:00",
  "--event-log", eventLog, "--web-dir", join(root, "web"),
], { stdio: ["ignore", "pipe", "inherit"] });
let log = "";
const url = await new Promise((ok, fail) => {
  const t = setTimeout(() => fail(new Error(`no URL from the server; output:\n${log}`)), 60000);
  server.stdout.on("data", (b) => {
    log += b;
    const m = log.match(/map and API at (http:\/\/[0-9.:]+)\//);
    if (m) { clearTimeout(t); ok(m[1]); }
  });
  server.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
});

// Each browser with a fresh, empty profile of its own.
const profiles = [];
async function browser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  profiles.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1200, height: 760 },
    timezoneId: "UTC",
    ...options,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

let desk = null;
let crew = null;
let warden = null;
try {
  desk = await browser();
  const page = desk.pages()[0] ?? (await desk.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/`);
  await page.fill("#token", "demo-dispatcher");
  await page.click("#login button");
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 20000);
  check("the dispatcher is logged in", true);

  // A person in the water at Laoyancang, and another at Daquekou.
  const report = (lat, lon) => page.evaluate(async ([la, lo]) => {
    const r = await fetch("/api/incidents", { method: "POST",
      headers: { Authorization: "Bearer demo-dispatcher", "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "person_in_water", lat: la, lon: lo, note: "caller Li, 138 0000 0000" }) });
    return r.json();
  }, [lat, lon]);
  const mine = await report(30.347, 120.457);
  const other = await report(30.372, 120.676);
  check("two incidents flown by two drones", mine.drone && other.drone && mine.drone !== other.drone,
    `${mine.drone} and ${other.drone}`);

  // "Share" in the incident's panel: a link, shown and copied.
  await until("the incident in the list", () => page.evaluate((id) => window.dispatchMap.incidents.has(id), mine.id), 10000);
  await page.evaluate((id) => window.dispatchMap.selectIncident(id), mine.id);
  await page.waitForSelector("#selected button[data-share]", { timeout: 10000 });
  await page.click("#selected button[data-share]");
  const link = await until("the link", () => page.evaluate(() => document.querySelector("#selected .share-url")?.value), 10000);
  check("Share makes a link to /share/<token>", /\/share\/[0-9a-f]{64}$/.test(link), link.replace(/[0-9a-f]{60}$/, "…"));

  // The link in a browser with no token: only the shared drone.
  crew = await browser();
  const view = crew.pages()[0] ?? (await crew.newPage());
  const viewErrors = [];
  view.on("pageerror", (e) => viewErrors.push(String(e)));
  globalThis.viewErrors = viewErrors;
  await view.goto(link);
  await until("the live view", () => view.evaluate(() => window.sharedView?.live && window.sharedView.markers.length > 0), 20000);
  const seen = await view.evaluate(() => ({ drones: window.sharedView.drones, markers: window.sharedView.markers,
    incident: window.sharedView.incident?.id }));
  check("the shared view shows the shared drone only", JSON.stringify(seen.markers) === JSON.stringify([mine.drone]) &&
    JSON.stringify(seen.drones) === JSON.stringify([mine.drone]), JSON.stringify(seen));
  check("the shared view shows the shared incident", seen.incident === mine.id, `incident ${seen.incident}`);
  const start = await view.evaluate((d) => window.sharedView.markers.includes(d) &&
    document.querySelector(".share-drone") ? 1 : 0, mine.drone);
  const moved = await until(`${mine.drone} to fly on the shared map`, () => view.evaluate(() => {
    const t = document.querySelector("#drone-facts")?.textContent ?? "";
    const m = t.match(/(\d+) m,/);
    return m && Number(m[1]) > 20 ? t : null;
  }), 90000);
  check("the shared drone flies live on the shared map", start === 1 && Boolean(moved), moved?.trim().replace(/\s+/g, " "));
  // Still nothing of the other drone, after its telemetry has been flowing.
  const later = await view.evaluate(() => window.sharedView.markers);
  check("the other drone never shows", !later.includes(other.drone), JSON.stringify(later));
  const html = await view.content();
  check("the page holds no API token, no other incident and no caller details",
    !html.includes("demo-") && !html.includes("caller Li") && !html.includes(`Incident #${other.id}`));
  const tl = await view.evaluate(() => [...document.querySelectorAll("#timeline li small")].map((e) => e.textContent));
  check("the incident's time line is shown", tl.length >= 2, `${tl.length} lines`);
  check("a browser on UTC shows the time line in the scenario's zone (13:00, not 05:00)", tl.every((x) => /^13:0\d:\d\d$/.test(x)), tl.join(", "));
  await view.waitForTimeout(1500);
  await view.screenshot({ path: join(shots, "share-view.png") });

  // The dispatcher sees the opening, then revokes; the view says so.
  await page.evaluate((id) => window.dispatchMap.selectIncident(id), mine.id);
  const listed = await page.evaluate(async () => {
    const r = await fetch("/api/shares", { headers: { Authorization: "Bearer demo-dispatcher" } });
    return r.json();
  });
  const opening = listed[0]?.openings?.[0];
  check("the opening is listed with its time, address and browser", listed[0]?.opened >= 1 &&
    opening?.address === "127.0.0.1" && /Chrome/.test(opening?.user_agent ?? ""), JSON.stringify(opening));
  await page.waitForSelector("#selected button[data-revoke]", { timeout: 10000 });
  const revokedAt = Date.now();
  await page.click("#selected button[data-revoke]");
  const closed = await until("the shared view to close", () => view.evaluate(() => window.sharedView.closed), 5000);
  const banner = await view.textContent("#share-banner");
  check("revoking closes the shared view, which says so", /revoked/.test(banner) && Date.now() - revokedAt < 3000,
    `${banner} after ${Date.now() - revokedAt} ms`);
  await view.reload();
  await until("the revoked page", () => view.evaluate(() => window.sharedView?.closed), 10000);
  check("the link stays revoked when opened again", /revoked/.test(await view.textContent("#share-banner")));
  check("no script errors", errors.length === 0 && viewErrors.length === 0, [...errors, ...viewErrors].join("; "));
  void closed;

  // A drone shared on its own, opened on a phone in Chinese.
  const made = await page.evaluate(async () => {
    const r = await fetch("/api/shares", { method: "POST",
      headers: { Authorization: "Bearer demo-dispatcher", "Content-Type": "application/json" },
      body: JSON.stringify({ drone: "hn-1", expires_in_s: 600 }) });
    return r.json();
  });
  warden = await browser({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: "zh-CN" });
  const phone = warden.pages()[0] ?? (await warden.newPage());
  const phoneErrors = [];
  phone.on("pageerror", (e) => phoneErrors.push(String(e)));
  await phone.goto(`${url}${made.url}`);
  const video = await until("the shared drone's video", () => phone.evaluate(() => {
    const img = document.querySelector("#share-video img");
    return img?.naturalWidth === 640 ? img.src : null;
  }), 30000);
  check("a shared drone with a camera plays its video through the share's relay",
    video.includes(`/api/share/`) && video.includes("/drones/hn-1/video") && !video.includes("token="), video.replace(/[0-9a-f]{60}/, "…"));
  const head = await phone.evaluate(() => ({ title: document.getElementById("title").textContent,
    expires: document.getElementById("expires").textContent, lang: document.documentElement.lang }));
  const until8 = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
    .format(new Date(made.expires_at));
  check("the shared view speaks Chinese, its expiry in the scenario's zone", head.lang === "zh-CN" && head.title === "共享的无人机" &&
    head.expires.includes(until8), JSON.stringify(head));
  const fits = await phone.evaluate(() => document.querySelector("#share-video img").getBoundingClientRect().right <= window.innerWidth + 1);
  check("the video fits the phone's width", fits);
  await phone.evaluate(() => document.getElementById("share-video").scrollIntoView());
  await phone.waitForTimeout(800);
  await phone.screenshot({ path: join(shots, "share-drone-phone.png") });
  const del = await page.evaluate(async (id) => (await fetch(`/api/shares/${id}`, { method: "DELETE",
    headers: { Authorization: "Bearer demo-dispatcher" } })).status, made.id);
  const ended = await until("the phone's view to close", () => phone.evaluate(() => window.sharedView.closed &&
    !document.querySelector("#share-video img") ? document.getElementById("share-banner").textContent : null), 5000);
  check("revoking the drone's share closes the view and its video", del === 204 && /撤销/.test(ended), `${del}: ${ended}`);
  check("no script errors on the phone", phoneErrors.length === 0, phoneErrors.join("; "));
} catch (e) {
  check("browser test", false, `${e.message} ${(globalThis.viewErrors ?? []).join("; ")}`);
} finally {
  await crew?.close();
  await warden?.close();
  await desk?.close();
  const exited = new Promise((ok) => server.on("exit", ok));
  server.kill("SIGINT");
  const code = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok("timeout"), 15000))]);
  if (code === "timeout") server.kill("SIGKILL");
  check("the server stops on Ctrl-C", code === 0, `exit ${code}`);
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed (a shared view)`);
process.exit(failed ? 1 : 0);
