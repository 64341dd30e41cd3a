// Browser test of the map in Simplified Chinese: a browser whose language
// is zh-CN gets the page in Chinese, with no English string of the page's
// own left on screen (each visible text compared with the English
// catalogue, web/public/js/i18n/en.js; text the server sends, marked
// `.srv`, stays as sent), the configuration's Chinese names (`name_zh`)
// on the map, the 中/EN toggle switching and being remembered, and a
// shared view of the incident in Chinese. Saves
// docs/img/map-zh.png.
//
// env: as harness.mjs.
import { join } from "node:path";
import en from "../public/js/i18n/en.js";
import zh from "../public/js/i18n/zh.js";
import { checker, launchBrowser, report, shots, startServer, until } from "./harness.mjs";

const { check, summary } = checker();

// The English catalogue's words: each value's pieces between its {params},
// markup taken out, where the Chinese differs and the piece has a word
// (three letters or more; "m/s", "%" and the like are the same in both).
const fragments = [];
for (const [key, value] of Object.entries(en)) {
  if (zh[key] === value) continue;
  for (const part of value.replace(/<[^>]+>/g, " ").split(/\{\w+\}/)) {
    const f = part.replace(/^[\s,.:;()–·…#]+|[\s,.:;()–·…#]+$/g, "");
    if (/[A-Za-z]{3,}/.test(f)) fragments.push({ key, f });
  }
}
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const patterns = fragments.map(({ key, f }) => ({ key, f, re: new RegExp(`(^|[^A-Za-z])${escapeRe(f)}($|[^A-Za-z])`) }));

// The texts a user sees: visible text nodes (not the server's `.srv`
// text, not <code> such as the tokens to type, not the map data's
// attribution) and visible inputs' placeholders.
function visibleTexts() {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || el.closest(".srv, code, script, style, .leaflet-control-attribution")) continue;
    if (!el.checkVisibility({ checkVisibilityCSS: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll("input[placeholder]")) {
    if (el.checkVisibility({ checkVisibilityCSS: true })) out.push(el.placeholder);
  }
  return out;
}

async function noEnglish(page, where) {
  const texts = await page.evaluate(visibleTexts);
  const left = [];
  for (const text of texts) {
    for (const p of patterns) if (p.re.test(text)) left.push(`"${text}" has "${p.f}" (${p.key})`);
  }
  check(`no English of the page's own is left on screen (${where})`, left.length === 0 && texts.length > 0,
    left.length ? left.slice(0, 6).join("; ") : `${texts.length} texts`);
}

const server = await startServer(["--sim-speedup", "1", "--time", "2026-09-28T13:00:00+08:00"]);
const { url } = server;
let browser = null;
try {
  await report(url, { kind: "person_in_water", lat: 30.347, lon: 120.457, source: "test" });
  browser = await launchBrowser({ viewport: { width: 1400, height: 860 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const { page, errors } = browser;
  await page.goto(`${url}/`);
  await page.waitForSelector("#login form", { state: "visible" });
  check("a zh-CN browser gets the page in Chinese", await page.evaluate(() => document.documentElement.lang) === "zh-CN");
  await noEnglish(page, "the login form");
  await page.fill("#token", "not-a-token");
  await page.click("#login button");
  const refusal = await until("the refusal", async () => (await page.textContent("#login-error")) || null, 10000);
  check("the login's refusal is in Chinese", refusal === zh["login.unknown"], refusal);

  await page.fill("#token", "demo-dispatcher");
  await page.click("#login button");
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 20000);
  await until("the incident list", () => page.$("#incidents li[data-incident='1']"), 10000);
  const title = await page.textContent("#title");
  check("the scenario's title is its name_zh", title.startsWith("海宁"), title);
  const labels = await until("the hangars' labels", () => page.evaluate(() => {
    const l = [...document.querySelectorAll(".leaflet-tooltip.place-label")].map((e) => e.textContent);
    return l.length === 8 ? l : null;
  }), 10000);
  check("the hangars carry their Chinese names", ["盐官", "老盐仓", "丁桥大缺口", "长安镇"].every((n) => labels.includes(n)), labels.join(", "));
  const zoneTip = await page.evaluate(() => {
    const z = window.dispatchMap.zonesLayer.getLayers().find((l) => l.feature.properties.id === "qinshan-npp");
    return z?.getTooltip()?.getContent();
  });
  check("a zone's tooltip has its Chinese name and kind", /秦山核电站/.test(zoneTip) && /核设施/.test(zoneTip), zoneTip);
  await noEnglish(page, "the incident list");

  // The incident's panel, then a drone's.
  await page.evaluate(() => window.dispatchMap.selectIncident(1));
  await until("the incident panel", () => page.isVisible("#selected [data-replay]"), 5000);
  await page.mouse.move(5, 300);
  await page.waitForTimeout(800);
  await page.screenshot({ path: join(shots, "map-zh.png") });
  await page.click("#selected [data-replay]");
  await until("the time line", async () => /来自事件日志/.test(await page.textContent("#selected .replay")), 10000);
  await noEnglish(page, "an incident's panel and time line");
  await page.evaluate(() => window.dispatchMap.selectDrone("hn-1"));
  await until("the drone panel", () => page.isVisible("#selected dl"), 5000);
  await noEnglish(page, "a drone's panel");

  await page.click("header nav button[data-view=crew]");
  await until("the drone table", () => page.evaluate(() => document.querySelectorAll("#drones tbody tr").length === 15), 5000);
  await noEnglish(page, "the safety crew's table and alerts");
  await page.click("header nav button[data-view=reports]");
  await until("the daily summary", async () => /执行任务/.test(await page.textContent("#day")), 10000);
  await noEnglish(page, "the reports");

  // 中/EN: switched, reloaded in English, remembered; and back.
  check("the toggle offers English", (await page.textContent("#lang")) === "EN");
  await page.click("#lang");
  await page.waitForLoadState("load");
  await until("the page in English", () => page.evaluate(() =>
    window.dispatchMap?.drones?.size === 15 && document.documentElement.lang === "en"), 20000);
  const nav = await page.textContent("header nav");
  const saved = await page.evaluate(() => localStorage.getItem("dispatch-lang"));
  check("switched to English, and remembered", /Dispatch/.test(nav) && saved === "en", `${nav.replace(/\s+/g, " ").trim()}; saved ${saved}`);
  await page.click("#lang");
  await page.waitForLoadState("load");
  await until("the page in Chinese again", () => page.evaluate(() =>
    window.dispatchMap?.drones?.size === 15 && document.documentElement.lang === "zh-CN"), 20000);
  check("and back to Chinese", /调度/.test(await page.textContent("header nav")));

  // The shared view of the incident, in the same Chinese browser: its
  // facts, time line, drone and video, with no English of the page's own.
  const shared = await page.evaluate(async () => {
    const r = await fetch("/api/shares", { method: "POST",
      headers: { Authorization: "Bearer demo-dispatcher", "Content-Type": "application/json" },
      body: JSON.stringify({ incident: 1 }) });
    return r.json();
  });
  const view = await browser.context.newPage();
  await view.goto(`${url}${shared.url}`);
  await until("the shared view", () => view.evaluate(() => window.sharedView?.incident && window.sharedView.markers.length > 0), 20000);
  await view.waitForTimeout(800);
  check("the shared view is in Chinese", await view.evaluate(() => document.documentElement.lang) === "zh-CN" &&
    /共享的事件/.test(await view.textContent("#title")));
  await noEnglish(view, "a shared view");
  await view.close();
  check("no script errors in the page", errors.length === 0, errors.join("; "));
} catch (e) {
  check("Chinese page test", false, e.message);
} finally {
  await browser?.close();
  const code = await server.stop();
  check("the server stops on Ctrl-C", code === 0, `exit ${code}`);
}
process.exit(summary("the map in Chinese"));
