// Browser test of the map on a cluster, in headless Chromium: two dispatch
// servers (a leads, b follows) on one PostgreSQL database and one NATS bus,
// the simulator streaming to both, `[cluster] servers` listing both. The page
// is opened on a; the header names the server and its role. Then a is
// killed (SIGKILL): the page moves to b by itself (websocket and API, across
// origins), says so, keeps receiving telemetry, and a report clicked on the
// map is answered by b once it leads. Screenshots before and after.
//
// env: DISPATCHER, DRONE_SIM (default ../target/debug/...), CHROMIUM,
//      SHOTS (default ../docs/img), DISPATCH_TEST_POSTGRES (default the
//      local server), DISPATCH_TEST_NATS (default nats://127.0.0.1:4222).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const bin = process.env.DISPATCHER ?? join(root, "target/debug/dispatcher");
const simBin = process.env.DRONE_SIM ?? join(dirname(bin), "drone-sim");
const shots = resolve(process.env.SHOTS ?? join(root, "docs/img"));
const pg = process.env.DISPATCH_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/postgres";
const nats = process.env.DISPATCH_TEST_NATS ?? "nats://127.0.0.1:4222";
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

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

function psql(url, sql) {
  const r = spawnSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`);
}

// A database of this run's own on the same server as $DISPATCH_TEST_POSTGRES.
const dbName = `dispatch_test_mapfail_${process.pid}`;
const [pgBase, pgQuery] = pg.split("?");
const db = `${pgBase.replace(/\/[^/]*$/, "")}/${dbName}${pgQuery ? `?${pgQuery}` : ""}`;
psql(pg, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
psql(pg, `CREATE DATABASE ${dbName}`);

// The demo's scenario with both servers listed for the map.
const dir = mkdtempSync(join(tmpdir(), "dispatch-mapfail-"));
const [httpA, httpB, mavA, mavB] = [await freePort(), await freePort(), await freePort(), await freePort()];
const servers = [`http://127.0.0.1:${httpA}`, `http://127.0.0.1:${httpB}`];
const config = join(dir, "haining.toml");
writeFileSync(config, readFileSync(join(root, "config/haining.toml"), "utf8")
  .replace('zones = "zones/haining.geojson"', `zones = ${JSON.stringify(join(root, "config/zones/haining.geojson"))}`)
  .replace(/^event_log = .*$/m, "")
  .replace("# [cluster]\n", `[cluster]\nservers = ${JSON.stringify(servers)}\n`));

const procs = [];
function run(cmd, args, name) {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  p.out = "";
  for (const s of [p.stdout, p.stderr]) s.on("data", (b) => { p.out += b; });
  p.name = name;
  procs.push(p);
  return p;
}
const speedup = "20";
const prefix = `mapfail${process.pid}`;
const sim = run(simBin, ["--config", config, "--gcs", `127.0.0.1:${mavA}`, "--gcs", `127.0.0.1:${mavB}`,
  "--speedup", speedup], "sim");
function node(name, http, mav) {
  return run(bin, ["serve", "--config", config, "--listen", `127.0.0.1:${http}`, "--database", db,
    "--node", name, "--mavlink", `udpin:127.0.0.1:${mav}`, "--bus", nats, "--bus-prefix", prefix,
    "--speedup", speedup, "--time", "2026-09-28T13:00:00+08:00", "--web-dir", join(root, "web")], name);
}

async function health(url) {
  try {
    const r = await fetch(`${url}/api/health`);
    return await r.json();
  } catch { return null; }
}

const profile = mkdtempSync(join(tmpdir(), "chromium-"));
let context = null;
try {
  const a = node("a", httpA, mavA);
  await until("a leads", async () => (await health(servers[0]))?.cluster?.role === "leader", 60000);
  node("b", httpB, mavB);
  await until("b follows a", async () => (await health(servers[1]))?.cluster?.leader === "a", 60000);
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
  await page.goto(`${servers[0]}/?token=demo-dispatcher`);
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 30000);
  const before = await until("the server badge", () => page.evaluate(() => {
    const el = document.getElementById("server");
    return el.hidden ? null : el.textContent;
  }), 15000);
  check("the header names the server and its role", before === "server a · leader", before);
  await page.mouse.move(5, 5);
  await page.screenshot({ path: join(shots, "cluster-before.png") });

  // a dies; the page finds b on its own.
  const killedAt = Date.now();
  a.kill("SIGKILL");
  const after = await until("the move to b", () => page.evaluate(() => {
    const el = document.getElementById("server");
    return el.dataset.node === "b" ? el.textContent : null;
  }), 20000);
  const movedS = (Date.now() - killedAt) / 1000;
  check("the page moves to server b by itself", after.startsWith("server b"), `${after} after ${movedS.toFixed(1)} s`);
  const alert = await page.evaluate(() => window.dispatchMap.alerts.find((x) => x.message.includes("now connected to server b"))?.message);
  check("an alert says which server did not answer and which one is used now", Boolean(alert), alert);
  await until("live again", () => page.evaluate(() => window.dispatchMap.live), 15000);
  const n0 = await page.evaluate(() => window.dispatchMap.telemetryMessages);
  await page.waitForTimeout(2000);
  const n1 = await page.evaluate(() => window.dispatchMap.telemetryMessages);
  check("telemetry keeps coming from b", n1 > n0, `${n1 - n0} batches in 2 s`);
  await until("b leads", () => page.evaluate(() => window.dispatchMap.server?.role === "leader"), 20000);
  const led = await page.textContent("#server");
  check("the header shows b as the leader once it took the lease", led === "server b · leader", led);

  // A report from the map goes to b (another origin than the page's).
  await page.evaluate(() => window.dispatchMap.map.invalidateSize({ animate: false, pan: false }));
  const pt = await page.evaluate(() => {
    const p = window.dispatchMap.map.latLngToContainerPoint([30.347, 120.457]);
    const r = document.getElementById("map").getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  });
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector(".popup select");
  await page.selectOption(".popup select", "person_in_water");
  await page.click(".popup button[name=report]");
  const text = await until("the answer", async () => {
    const t = await page.textContent(".popup .msg");
    return t && /Launched|Proposed|Queued|rror|answer/.test(t) ? t : null;
  }, 30000);
  check("a report after the fail-over is answered by b", /Launched|Proposed/.test(text), text);
  const onB = await (await fetch(`${servers[1]}/api/incidents`, { headers: { Authorization: "Bearer demo-viewer" } })).json();
  check("the incident exists once, on b", onB.length === 1 && onB[0].source === "map", JSON.stringify(onB.map((i) => [i.id, i.source])));
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(shots, "cluster-after.png") });
  check("no script errors", errors.length === 0, errors.join("; "));
} catch (e) {
  await context?.pages()[0]?.screenshot({ path: join(tmpdir(), "cluster-failure.png") }).catch(() => {});
  check("browser test", false, `${e.message}\n${procs.map((p) => `--- ${p.name}\n${p.out.slice(-3000)}`).join("\n")}`);
} finally {
  await context?.close();
  for (const p of procs) p.kill("SIGKILL");
  await new Promise((ok) => setTimeout(ok, 500));
  rmSync(profile, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  try { psql(pg, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } catch (e) { console.log(`cleanup: ${e.message}`); }
}
console.log(`browser: ${passed} passed, ${failed} failed (the map on a cluster)`);
process.exit(failed ? 1 : 0);
