// Browser test of the web map, in headless Chromium (Debian's package)
// driven by playwright-core: starts `dispatcher serve --sim`, logs in with
// the demo dispatcher token, clicks the map at Laoyancang to report a person
// in the water, checks that the route is drawn and the drone marker moves,
// and saves the screenshots used by docs/user-guide.md; the simulated air
// blows 8 m/s from 248° (gusts 1.5 m/s over it), so the hangars and the
// flying drone carry wind arrows and the plan its wind; then that a missing
// Leaflet or basemap is shown in a banner and the rest of the page works.
// A helicopter on an SBS-1 feed served by this test is drawn with its label.
//
// env: DISPATCHER (the binary, default ../target/debug/dispatcher),
//      CHROMIUM (default /usr/bin/chromium), SHOTS (default ../docs/img).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
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

// A ground receiver's BaseStation feed with one helicopter, far from the
// routes the test flies (so that it holds no launch).
const STAMP = "2026/09/28,13:00:00.000,2026/09/28,13:00:00.000";
const heliLines = [
  `MSG,1,1,1,780A3B,1,${STAMP},B7711,,,,,,,,,,,0`,
  `MSG,3,1,1,780A3B,1,${STAMP},,984,,,30.600000,120.900000,,,0,0,0,0`,
  `MSG,4,1,1,780A3B,1,${STAMP},,,40,90,,,0,,,,,0`, // 40 kt: 21 m/s
].map((l) => `${l}\r\n`).join("");
const feed = createServer((sock) => {
  const timer = setInterval(() => sock.write(heliLines), 300);
  sock.on("error", () => clearInterval(timer));
  sock.on("close", () => clearInterval(timer));
});
await new Promise((ok) => feed.listen(0, "127.0.0.1", ok));
feed.unref();

const eventLog = join(mkdtempSync(join(tmpdir(), "dispatch-log-")), "events.sqlite");
const server = spawn(bin, [
  "serve", "--config", join(root, "config/haining.toml"), "--listen", "127.0.0.1:0",
  "--sim", "--sim-speedup", "30", "--sim-wind", "8@248", "--sim-gust", "1.5", "--time", "2026-09-28T13:00:00+08:00",
  "--event-log", eventLog, "--web-dir", join(root, "web"),
  "--sbs", `127.0.0.1:${feed.address().port}`,
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

// A fresh, empty profile each run (playwright's persistent-context way of
// passing --user-data-dir).
const profile = mkdtempSync(join(tmpdir(), "chromium-"));
let context = null;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 860 },
    timezoneId: "Asia/Shanghai",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/`);

  // A wrong token is refused, the demo dispatcher token logs in.
  await page.fill("#token", "not-a-token");
  await page.click("#login button");
  await until("the refusal", () => page.textContent("#login-error").then((t) => t.includes("Unknown token")), 10000);
  check("a wrong token is refused", true);
  await page.fill("#token", "demo-dispatcher");
  await page.click("#login button");
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 20000);
  check("logged in and the snapshot shows 15 drones", true);
  await until("zones", () => page.evaluate(() => window.dispatchMap.zonesLayer.getLayers().length >= 4), 10000);
  check("zones are drawn", true);
  const heli = await until("the helicopter", () => page.evaluate(() => {
    const l = window.dispatchMap.trafficLayer.getLayers();
    return l.length >= 1 ? l[0].getTooltip()?.getContent() : null;
  }), 15000);
  check("manned traffic is drawn with its callsign, altitude, speed and age", /B7711 300 m 21 m\/s \d+ s/.test(heli), heli);
  await page.mouse.move(5, 5); // off the map: no tooltip opened where the login button was
  await page.waitForTimeout(1000);
  await page.screenshot({ path: join(shots, "map-overview.png") });

  // The wind the docked vehicles report, as arrows at the hangars with the
  // speed and gusts, and the whole report in the tooltip; a desktop-sized
  // screenshot with a tooltip open.
  const windLabel = await until("the hangars' wind arrows", async () => {
    const t = await page.evaluate(() => document.querySelector("[data-wind='hangar:yanguan']")?.parentElement.querySelector(".wind-label").textContent);
    return t && /m\/s/.test(t) ? t : null;
  }, 15000);
  const [arrows, hangars] = await page.evaluate(() =>
    [document.querySelectorAll("[data-wind^='hangar:']").length, window.dispatchMap.hangarWind.length]);
  check("wind arrows at the hangars with the speed in m/s", arrows === hangars && hangars === 8 && /^[0-9.]+ m\/s, gust [0-9.]+$/.test(windLabel),
    `${arrows} hangar arrows, yanguan's label ${windLabel}`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.hover("[data-wind='hangar:yanguan']");
  const windTip = await until("the wind tooltip", () => page.evaluate(() =>
    [...document.querySelectorAll(".leaflet-tooltip")].map((t) => t.textContent).find((t) => t.startsWith("Wind at Yanguan"))), 5000);
  check("a hangar's wind tooltip gives the direction, gusts, age and source",
    /m\/s from [0-9]+°, gusts [0-9.]+, [0-9]+ (s|min) ago, drone /.test(windTip), windTip);
  await page.screenshot({ path: join(shots, "map-wind.png") });
  await page.mouse.move(5, 5);
  await page.setViewportSize({ width: 1400, height: 860 });

  // Click the map at Laoyancang and report a person in the water. The
  // viewport was just resized: the map takes its new size first (else the
  // click lands where Laoyancang was before the resize, kilometres off).
  await page.evaluate(() => window.dispatchMap.map.invalidateSize({ animate: false, pan: false }));
  await page.waitForTimeout(300);
  const pt = await page.evaluate(() => {
    const p = window.dispatchMap.map.latLngToContainerPoint([30.347, 120.457]);
    const r = document.getElementById("map").getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  });
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector(".popup select");
  await page.selectOption(".popup select", "person_in_water");
  await page.click(".popup button[name=report]");
  const text = await until("the proposal", async () => {
    const t = await page.textContent(".popup .msg");
    return t && /Launched|Proposed|Queued/.test(t) ? t : null;
  }, 20000);
  const reported = await page.evaluate(async () => {
    const r = await fetch("/api/incidents", { headers: { Authorization: "Bearer demo-viewer" } });
    return (await r.json())[0]?.position;
  });
  check("the report is where the map was clicked", reported && Math.hypot((reported.lat - 30.347) * 111, (reported.lon - 120.457) * 96) < 0.2,
    JSON.stringify(reported));
  check("the report is answered with a launched drone", /Launched: yg-1/.test(text), text.trim().replace(/\s+/g, " "));
  const routes = await page.evaluate(() => window.dispatchMap.routeLayer.getLayers().length);
  check("the route is drawn", routes >= 1, `${routes} route layer(s)`);

  // The drone marker moves with live telemetry.
  const start = await page.evaluate(() => { const d = window.dispatchMap.drones.get("yg-1"); return [d.lat, d.lon]; });
  const moved = await until("yg-1 to fly", () => page.evaluate(([la, lo]) => {
    const d = window.dispatchMap.drones.get("yg-1");
    const km = Math.hypot((d.lat - la) * 111, (d.lon - lo) * 96);
    return d.armed && km > 0.5 ? { km, trail: d.trail.length, state: d.state } : null;
  }, start), 90000);
  check("the drone marker moves", moved.km > 0.5, `${moved.km.toFixed(2)} km from its hangar, ${moved.trail} trail points, ${moved.state}`);
  await page.keyboard.press("Escape");
  await page.evaluate(() => document.querySelector(".leaflet-popup-close-button")?.click());
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, "map-rescue.png") });

  // Select the drone: live telemetry and the operator's buttons.
  await page.evaluate(() => window.dispatchMap.selectDrone?.("yg-1"));
  await page.evaluate(() => {
    const S = window.dispatchMap;
    const d = S.drones.get("yg-1");
    const p = S.map.latLngToContainerPoint([d.lat, d.lon]);
    const r = document.getElementById("map").getBoundingClientRect();
    window.__dronePoint = { x: r.left + p.x, y: r.top + p.y };
  });
  const dp = await page.evaluate(() => window.__dronePoint);
  await page.mouse.click(dp.x, dp.y);
  await until("the drone panel", () => page.isVisible("#selected dl"), 5000);
  const panel = await page.textContent("#selected");
  check("the drone panel shows live telemetry", /battery/.test(panel) && /AUTO/.test(panel), panel.replace(/\s+/g, " ").slice(0, 160));
  const droneWind = await until("the drone's wind", async () => {
    const t = await page.textContent("#selected [data-f=wind]");
    return /m\/s from/.test(t) ? t : null;
  }, 5000);
  check("the drone panel shows the drone's own wind", /^[0-9.]+ m\/s from [0-9]+°, [0-9]+ s ago$/.test(droneWind), droneWind);
  await page.screenshot({ path: join(shots, "map-drone.png") });
  // Zoomed in, away from its hangar's arrow, the drone has its own.
  const view = await page.evaluate(() => {
    const S = window.dispatchMap;
    const d = S.drones.get("yg-1");
    const before = { center: S.map.getCenter(), zoom: S.map.getZoom() };
    S.map.setView([d.lat, d.lon], 15, { animate: false });
    return before;
  });
  const droneArrow = await until("the drone's wind arrow", () => page.evaluate(() =>
    document.querySelector("[data-wind='drone:yg-1']")?.parentElement.querySelector(".wind-label").textContent), 5000);
  check("zoomed in, the drone carries its own wind arrow", /^[0-9.]+ m\/s$/.test(droneArrow), droneArrow);
  await page.evaluate((v) => window.dispatchMap.map.setView(v.center, v.zoom, { animate: false }), view);

  // The safety crew's view: every drone's telemetry and the alerts.
  await page.click("header nav button[data-view=crew]");
  await until("the drone table", () => page.evaluate(() => document.querySelectorAll("#drones tbody tr").length === 15), 5000);
  check("the safety-crew table lists every drone", true);
  await page.screenshot({ path: join(shots, "crew-view.png") });

  // The incident's time line from the event log, and its track replayed.
  await page.click("header nav button[data-view=dispatch]");
  await page.evaluate(() => window.dispatchMap.selectIncident(1));
  const planWind = await page.textContent("#selected .wind");
  check("the incident panel gives the wind the plan was made with",
    /^wind [0-9.]+ m\/s from [0-9]+° .*: out at [0-9.]+ m\/s over the ground, back at [0-9.]+$/.test(planWind), planWind);
  const flight = await page.textContent("#selected .flight");
  check("the incident panel gives the sortie's cruise layer", /^cruises at [0-9]+ m/.test(flight ?? ""), flight);
  await page.click("#selected [data-replay]");
  const replay = await until("the replay", async () => {
    const t = await page.textContent("#selected .replay");
    return /from the event log/.test(t) && (await page.isVisible("#selected [data-slider]")) ? t : null;
  }, 10000);
  check("the time line comes from the event log with a track to replay", /[1-9][0-9]* track points/.test(replay),
    replay.replace(/\s+/g, " ").slice(0, 120));
  await page.click("#selected [data-play]");
  await page.waitForTimeout(1500);
  const replayed = await page.evaluate(() => document.querySelector("#selected [data-slider]").value);
  check("the replay plays", Number(replayed) > 0, `at point ${replayed}`);
  await page.screenshot({ path: join(shots, "map-replay.png") });

  // Reports: once yg-1 is over the scene, its response times and the day's summary.
  await until("incident 1 on scene", () => page.evaluate(() =>
    ["on_scene", "returning", "resolved"].includes(window.dispatchMap.incidents.get(1)?.status)), 90000);
  await page.click("header nav button[data-view=reports]");
  const rt = await until("the response-time table", async () => {
    const t = await page.textContent("#rt-table tbody");
    return /Person in the water/.test(t) && (await page.$("#rt-chart svg rect")) ? t : null;
  }, 10000);
  check("response times per kind and hangar with a chart", /yanguan/.test(rt), rt.replace(/\s+/g, " ").slice(0, 120));
  const day = await until("the daily summary", async () => {
    const t = await page.textContent("#day");
    return /Missions flown/.test(t) ? t : null;
  }, 10000);
  check("the daily summary counts the mission", /Person in the water: 1/.test(day), day.replace(/\s+/g, " ").slice(0, 160));
  await page.screenshot({ path: join(shots, "reports.png") });
  await page.click("header nav button[data-view=crew]");

  // 1,000 drones on the map: the canvas layer and the crew table are timed
  // (reported, not asserted: timings are measurements, not tests).
  const perf = await page.evaluate(() => {
    const S = window.dispatchMap;
    const r = S.config.region;
    for (let i = 0; i < 1000; i++) {
      const lat = r.min_lat + ((i * 7919) % 1000) / 1000 * (r.max_lat - r.min_lat);
      const lon = r.min_lon + ((i * 104729) % 1000) / 1000 * (r.max_lon - r.min_lon);
      const trail = Array.from({ length: 60 }, (_, k) => [lat - k * 0.0005, lon - k * 0.0005]);
      S.drones.set(`load-${i}`, { id: `load-${i}`, name: `load-${i}`, hangar: "yanguan", capabilities: [], state: "en_route",
        incident: null, lat, lon, alt: 60, heading: (i * 37) % 360, speed: 15, battery: 80, mode: "AUTO", armed: true,
        link: "up", trail });
    }
    S.droneLayer.draw(); // builds the trails' pixel caches
    S.renderLists(true); // builds the table's rows
    const t0 = performance.now();
    for (let k = 0; k < 20; k++) S.droneLayer.draw();
    const draw = (performance.now() - t0) / 20;
    const t1 = performance.now();
    for (let k = 0; k < 5; k++) { S.listsDirty = true; S.renderLists(true); }
    const table = (performance.now() - t1) / 5;
    return { draw, table, drones: S.drones.size };
  });
  console.log(`measure - ${perf.drones} drones with 60-point trails: canvas redraw ${perf.draw.toFixed(1)} ms, crew table refresh ${perf.table.toFixed(1)} ms`);
  await page.screenshot({ path: join(shots, "map-1000-drones.png") });
  check("no script errors in the page", errors.length === 0, errors.join("; "));

  // Without the map's files (`npm ci && npm run build` not run in web/): a
  // banner says so and how to build them, the console logs it, and the rest
  // of the page works. The browser answers 404 for the file itself, so the
  // same server serves these pages.
  for (const [file, name] of [["/vendor/leaflet/leaflet.js", "Leaflet"], ["/basemap.geojson", "the basemap"]]) {
    const p = await context.newPage();
    const pageErrors = [];
    const logged = [];
    p.on("pageerror", (e) => pageErrors.push(String(e)));
    p.on("console", (m) => { if (m.type() === "error") logged.push(m.text()); });
    await p.route(`**${file}`, (r) => r.fulfill({ status: 404, body: "" }));
    await p.goto(`${url}/?token=demo-dispatcher`);
    await p.waitForSelector("#assets-banner", { state: "visible", timeout: 10000 });
    const banner = await p.textContent("#assets-banner");
    check(`without ${file} a banner says the map's files are missing and how to build them`,
      banner.includes("map's files are missing") && banner.includes(name) && banner.includes("cd web && npm ci && npm run build"),
      banner.trim());
    check(`without ${file} the console says so`, logged.some((t) => t.includes(file) && t.includes("npm run build")), logged.join("; "));
    if (file.includes("leaflet")) {
      await until("the snapshot without a map", () => p.evaluate(() => window.dispatchMap.drones.size === 15), 20000);
      await until("the incident list", () => p.$("#incidents li[data-incident='1']"), 5000);
      check("without Leaflet the page logs in and lists the incidents, with no map",
        await p.evaluate(() => window.dispatchMap.map === null));
    } else {
      await until("zones without a basemap", () => p.evaluate(() => window.dispatchMap.zonesLayer?.getLayers().length >= 4), 20000);
      check("without the basemap the map still draws the zones", true);
    }
    check(`without ${file} no script errors`, pageErrors.length === 0, pageErrors.join("; "));
    await p.close();
  }
} catch (e) {
  check("browser test", false, e.message);
} finally {
  await context?.close();
  // The server stops on SIGINT, printing its summary; SIGKILL if it does not.
  const exited = new Promise((ok) => server.on("exit", ok));
  server.kill("SIGINT");
  const code = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok("timeout"), 15000))]);
  if (code === "timeout") server.kill("SIGKILL");
  check("the server stops on Ctrl-C", code === 0, `exit ${code}`);
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
