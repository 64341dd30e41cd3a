// What the browser tests share: pass/fail counting with the closing line
// scripts/test.sh adds up, waiting for a condition, `dispatcher serve
// --sim` on a free port, and headless Chromium (Debian's package) driven by
// playwright-core with a fresh profile.
//
// env: DISPATCHER (the binary, default ../target/debug/dispatcher),
//      CHROMIUM (default /usr/bin/chromium), SHOTS (default ../docs/img).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
export const shots = resolve(process.env.SHOTS ?? join(root, "docs/img"));
mkdirSync(shots, { recursive: true });

// `check(name, ok, detail)` prints a line per check; `summary(what)` the
// closing "browser: N passed, M failed (what)" and the exit status.
export function checker() {
  let passed = 0;
  let failed = 0;
  return {
    check(name, ok, detail = "") {
      if (ok) passed++;
      else failed++;
      console.log(`${ok ? "ok" : "FAILED"} - ${name}${detail ? `: ${detail}` : ""}`);
    },
    summary(what) {
      console.log(`browser: ${passed} passed, ${failed} failed (${what})`);
      return failed ? 1 : 0;
    },
  };
}

export async function until(what, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// `dispatcher serve --sim` on the Haining scenario at a port of its own
// choosing; resolves { url, stop } once it prints its URL. `stop` sends
// Ctrl-C and resolves the exit code ("timeout" after 15 s, then SIGKILL).
export async function startServer(extraArgs = []) {
  const bin = process.env.DISPATCHER ?? join(root, "target/debug/dispatcher");
  const logDir = mkdtempSync(join(tmpdir(), "dispatch-log-"));
  const server = spawn(bin, [
    "serve", "--config", join(root, "config/haining.toml"), "--listen", "127.0.0.1:0",
    "--sim", "--event-log", join(logDir, "events.sqlite"), "--web-dir", join(root, "web"), ...extraArgs,
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let log = "";
  const exited = new Promise((ok) => server.on("exit", ok));
  const url = await new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`no URL from the server; output:\n${log}`)), 60000);
    server.stdout.on("data", (b) => {
      log += b;
      const m = log.match(/map and API at (http:\/\/[0-9.:]+)\//);
      if (m) { clearTimeout(t); ok(m[1]); }
    });
    server.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${log}`)));
  });
  return {
    url,
    async stop() {
      server.kill("SIGINT");
      const code = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok("timeout"), 15000))]);
      if (code === "timeout") server.kill("SIGKILL");
      rmSync(logDir, { recursive: true, force: true });
      return code;
    },
  };
}

// A persistent context on a fresh profile (playwright's way of passing
// --user-data-dir); `options` are playwright's (viewport, isMobile,
// locale, timezoneId, ...). Resolves { context, page, errors, close }.
export async function launchBrowser(options) {
  const profile = mkdtempSync(join(tmpdir(), "chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    ...options,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    context, page, errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Reports an incident through the API as the demo dispatcher.
export async function report(url, body) {
  const r = await fetch(`${url}/api/incidents`, {
    method: "POST",
    headers: { Authorization: "Bearer demo-dispatcher", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!r.ok && r.status !== 202) throw new Error(`report: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}
