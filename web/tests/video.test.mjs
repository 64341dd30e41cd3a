// Browser check of the live camera: `dispatcher serve --sim`, the viewer
// token; selecting hn-1 (thermal and zoom camera) shows its camera buttons
// and a live <img> on /api/drones/hn-1/video whose frames load; the thermal
// button switches streams; yg-1 (no camera) has none. Saves
// video-panel.png for docs/video.md.
//
// env: DISPATCHER (default ../target/debug/dispatcher), CHROMIUM, SHOTS.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { checker, launchBrowser, root, startServer, until } from "./harness.mjs";

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
} catch (e) {
  check("video test ran", false, e.stack ?? String(e));
} finally {
  if (browser) await browser.close();
  await server.stop();
}
process.exit(summary("the live camera"));
