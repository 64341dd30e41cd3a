// Browser check of the live camera: `dispatcher serve --sim`, the viewer
// token; selecting hn-1 (thermal and zoom camera) shows its camera buttons
// and a live <img> on /api/drones/hn-1/video whose frames load; the thermal
// button switches streams; yg-1 (no camera) has none. Then, as the
// dispatcher: a high-rise fire's panel plays its drone's video, a still is
// kept on arrival on scene by itself and one by the snapshot button, both
// in the incident's strip (their pictures load) and in its replay (the
// picture of the moment, a mark on the map); at phone size too. Saves
// video-panel.png, stills-panel.png, stills-replay.png, stills-phone.png.
//
// env: DISPATCHER (default ../target/debug/dispatcher), CHROMIUM, SHOTS.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { checker, launchBrowser, report, root, startServer, until } from "./harness.mjs";

const shots = resolve(process.env.SHOTS ?? join(root, "web/test-output"));
mkdirSync(shots, { recursive: true });
const { check, summary } = checker();

const server = await startServer(["--sim-speedup", "10", "--time", "2026-09-28T13:00:00+08:00"]);
const url = server.url;
let browser = null;
try {
  browser = await launchBrowser({ viewport: { width: 1400, height: 860 } });
  const { page, errors } = browser;
  await page.goto(`${url}/?token=demo-viewer`);
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 30000);
  // The camera is discovered once the link is up: the API shows it.
  await until("hn-1's camera", async () => {
    const r = await fetch(`${url}/api/drones/hn-1`, { headers: { Authorization: "Bearer demo-viewer" } });
    return (await r.json()).camera;
  }, 30000);
  await page.evaluate(() => window.dispatchMap.selectDrone("hn-1"));
  await until("the camera buttons", () => page.locator("#selected button[data-video]").count().then((n) => n === 2), 15000);
  check("a drone with two streams has two camera buttons", true);
  const loaded = await until("a frame in the panel", () => page.evaluate(() => {
    const img = document.querySelector("#selected img.video");
    return img && img.complete !== undefined && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight, img.src] : null;
  }), 20000);
  check("the panel's live video shows frames", loaded[0] === 640 && loaded[1] === 360, JSON.stringify(loaded));
  check("the <img> carries the token in the query", loaded[2].includes("/api/drones/hn-1/video?token=demo-viewer"));
  await page.click("#selected button[data-video='2']");
  const thermal = await until("the thermal stream", () => page.evaluate(() => {
    const img = document.querySelector("#selected img.video");
    return img?.src.includes("stream=2") && img.naturalWidth > 0 ? img.src : null;
  }), 20000);
  check("the thermal button switches to stream 2", Boolean(thermal));
  await new Promise((r) => setTimeout(r, 1500));
  await page.screenshot({ path: join(shots, "video-panel.png") });
  await page.evaluate(() => window.dispatchMap.selectDrone("yg-1"));
  await new Promise((r) => setTimeout(r, 1500));
  const none = await page.locator("#selected button[data-video]").count();
  check("a drone without a camera has no camera button", none === 0, `${none}`);
  check("no page errors", errors.length === 0, errors.join("; "));
  await stills(browser);
} catch (e) {
  check("video test ran", false, e.stack ?? String(e));
} finally {
  if (browser) await browser.close();
  await server.stop();
}
process.exit(summary("the live camera"));

// The stills of a high-rise fire in Haining's new town (hn-1's camera).
async function stills(b) {
  const page = await b.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/?token=demo-dispatcher`);
  await until("the dispatcher's snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 30000);
  const inc = await report(url, { kind: "highrise_fire", lat: 30.538, lon: 120.688, source: "test" });
  const id = inc.id;
  await page.evaluate((i) => window.dispatchMap.selectIncident(i), id);
  const serving = await until("the serving drone's video in the incident panel", () => page.evaluate(() => {
    const img = document.querySelector("#selected .video-holder img.video");
    return img?.naturalWidth > 0 ? img.src : null;
  }), 30000);
  check("the incident panel plays the serving drone's video", /\/api\/drones\/hn-\d\/video/.test(serving), serving);
  // Arrival on scene: the server keeps a still by itself.
  const arrived = await until("the still on arrival", () => page.evaluate((i) => {
    const figs = [...document.querySelectorAll(`#selected [data-stills="${i}"] figure.still`)];
    return figs.length ? figs.map((f) => f.textContent) : null;
  }, id), 90000);
  check("a still is kept on arrival on scene, with its drone and heading", /hn-\d/.test(arrived[0]) && /on arrival/.test(arrived[0]) && /heading \d+°/.test(arrived[0]), arrived.join(" | "));
  await page.click("#selected button[data-snapshot]");
  const strip = await until("the snapshot in the strip", () => page.evaluate((i) => {
    const figs = [...document.querySelectorAll(`#selected [data-stills="${i}"] figure.still`)];
    const imgs = figs.map((f) => f.querySelector("img"));
    return figs.length === 2 && imgs.every((img) => img.naturalWidth === 640) ? figs.map((f) => f.textContent) : null;
  }, id), 30000);
  check("the snapshot button keeps a second still; both pictures load", /snapshot/.test(strip[1]), strip.join(" | "));
  const msg = await page.textContent("#selected .still-msg");
  check("the button says what it kept", /^kept: /.test(msg ?? ""), msg);
  const listed = await (await fetch(`${url}/api/incidents/${id}/stills`, { headers: { Authorization: "Bearer demo-viewer" } })).json();
  check("the API lists the same two stills", listed.length === 2 && listed.every((s) => s.drone === listed[0].drone), JSON.stringify(listed.map((s) => s.trigger)));
  await page.screenshot({ path: join(shots, "stills-panel.png") });
  // The replay: both in its time line, the picture of the moment shown.
  await page.click("#selected button[data-replay]");
  await until("the replay", () => page.locator("#selected .replay [data-slider]").count().then((n) => n === 1), 20000);
  const lines = await page.locator("#selected .replay ol.events li a").allTextContents();
  check("the replay's time line lists both stills", lines.length === 2, lines.join(" | "));
  await page.evaluate(() => {
    const s = document.querySelector("#selected .replay [data-slider]");
    s.value = s.max;
    s.dispatchEvent(new Event("input"));
  });
  const shown = await until("the still of the replay's moment", () => page.evaluate(() => {
    const f = document.querySelector("#selected .replay-still");
    const img = f?.querySelector("img");
    return f && !f.hidden && img.naturalWidth === 640 ? f.textContent : null;
  }), 10000);
  check("at the end of the replay its last still is shown", /hn-\d/.test(shown), shown);
  const marks = await page.locator(".still-mark").count();
  check("each still is a mark on the map where it was taken", marks === 2, `${marks}`);
  await page.screenshot({ path: join(shots, "stills-replay.png") });
  check("no page errors (dispatcher)", errors.length === 0, errors.join("; "));
  await page.close();
  // On a phone: the incident's sheet with its video and stills.
  const phone = await launchBrowser({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    await phone.page.goto(`${url}/?token=demo-dispatcher`);
    await until("the phone's snapshot", () => phone.page.evaluate(() => window.dispatchMap?.drones?.size === 15), 30000);
    await phone.page.evaluate((i) => { window.dispatchMap.selectIncident(i); window.dispatchMap.setSheet(true); }, id);
    const fit = await until("the stills on the phone", () => phone.page.evaluate((i) => {
      const strip = document.querySelector(`#selected [data-stills="${i}"] .still-strip`);
      const img = strip?.querySelector("img");
      return img?.naturalWidth === 640 ? strip.getBoundingClientRect().right <= window.innerWidth + 1 : null;
    }, id), 20000);
    check("on a phone the strip of stills fits the sheet (it scrolls sideways)", fit === true);
    await phone.page.evaluate(() => document.querySelector("#selected [data-stills]")?.scrollIntoView());
    await new Promise((r) => setTimeout(r, 500));
    await phone.page.screenshot({ path: join(shots, "stills-phone.png") });
    check("no page errors (phone)", phone.errors.length === 0, phone.errors.join("; "));
  } finally {
    await phone.close();
  }
}
