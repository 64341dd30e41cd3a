// Browser test of the map on a phone: a 390 x 844 touch screen (device
// scale 2) in a browser whose own time zone is UTC, against `dispatcher
// serve --sim` at bore-day 13:00 China time (+08:00). Logs in by tapping,
// checks that times are the scenario's (13:00, not 05:00), that the map
// fills the screen, that the menu (☰) opens and Reports can be pressed,
// that a drone's panel and the incident list come up as bottom sheets and
// go away again, and that nothing is wider than the screen; saves the
// screenshots docs/user-guide.md shows (docs/img/phone-*.png).
//
// env: as harness.mjs.
import { join } from "node:path";
import { checker, launchBrowser, report, shots, startServer, until } from "./harness.mjs";

const { check, summary } = checker();
const W = 390;
const H = 844;

const server = await startServer(["--sim-speedup", "1", "--time", "2026-09-28T13:00:00+08:00"]);
const { url } = server;
let browser = null;
try {
  // One incident in the list before the page opens, reported at 13:00 +08:00.
  await report(url, { kind: "missing_person", lat: 30.52, lon: 120.9, note: "phone test", source: "test" });

  browser = await launchBrowser({
    viewport: { width: W, height: H }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    timezoneId: "UTC", locale: "en-US",
  });
  const { page, errors } = browser;
  const noOverflow = async (where) => {
    const [sw, iw] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
    check(`nothing is wider than the screen (${where})`, sw <= iw, `scrollWidth ${sw}, innerWidth ${iw}`);
  };
  // Whether the element is on screen and the topmost thing at its centre,
  // that is, a tap there reaches it.
  const tappable = (sel) => page.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return false;
    el.scrollIntoView({ block: "nearest" });
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    if (r.width === 0 || x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
    const top = document.elementFromPoint(x, y);
    return top === el || el.contains(top);
  }, sel);
  const sheetUp = () => page.evaluate(() => {
    const r = document.getElementById("panel").getBoundingClientRect();
    return window.dispatchMap.sheetOpen && r.top < innerHeight - 100 && r.bottom <= innerHeight + 1;
  });
  const sheetDown = () => page.evaluate(() =>
    !window.dispatchMap.sheetOpen && document.getElementById("panel").getBoundingClientRect().top >= innerHeight - 1);

  await page.goto(`${url}/`);
  await page.waitForSelector("#token");
  await page.tap("#token");
  await page.fill("#token", "demo-dispatcher");
  await page.tap("#login button");
  await until("the snapshot", () => page.evaluate(() => window.dispatchMap?.drones?.size === 15), 20000);
  check("logged in by touch and the snapshot shows 15 drones", true);

  // Times in the scenario's zone, not the browser's.
  const times = await page.evaluate(() => ({
    browserZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    browserHour: new Date("2026-09-28T13:00:00+08:00").getHours(),
    zone: window.dispatchMap.timeZone,
    formatted: window.dispatchMap.fmtTime("2026-09-28T13:00:00+08:00"),
  }));
  check("the browser is on UTC, where 13:00 +08:00 is 05:00", times.browserZone === "UTC" && times.browserHour === 5,
    JSON.stringify(times));
  check("the page writes 13:00 +08:00 as 13:00:00 (the scenario's Asia/Shanghai)",
    times.zone === "Asia/Shanghai" && times.formatted === "13:00:00", JSON.stringify(times));
  const clock = await until("the clock", async () => {
    const c = await page.textContent("#clock");
    return /\d\d:\d\d:\d\d/.test(c) ? c : null;
  }, 10000);
  check("the header's clock shows the scenario's 13:0x, not 05:0x", /^scenario time 13:0\d:\d\d$/.test(clock), clock);

  await until("zones", () => page.evaluate(() => window.dispatchMap.zonesLayer.getLayers().length >= 4), 10000);
  const cover = await page.evaluate(() => {
    const r = document.getElementById("map").getBoundingClientRect();
    return (Math.min(r.right, innerWidth) - Math.max(r.left, 0)) * (Math.min(r.bottom, innerHeight) - Math.max(r.top, 0)) / (innerWidth * innerHeight);
  });
  check("the map covers most of the screen", cover > 0.9, `${(cover * 100).toFixed(0)} % of the viewport`);
  check("the side panel is out of the way", await sheetDown());
  const header = await page.evaluate(() => {
    const h = document.querySelector("header");
    return { height: h.getBoundingClientRect().height, wraps: h.scrollWidth > h.clientWidth };
  });
  check("the header is one line that fits", header.height <= 50 && !header.wraps, JSON.stringify(header));
  check("the menu button is there to tap", await tappable("#menu-button"));
  await noOverflow("the map");
  await page.waitForTimeout(800);
  await page.screenshot({ path: join(shots, "phone-map.png") });

  // The menu: the header's controls, and Reports among them.
  await page.tap("#menu-button");
  await until("the menu", () => page.isVisible("#header-menu nav"), 5000);
  const menu = await page.evaluate(() => [...document.querySelectorAll("#header-menu button")]
    .filter((b) => b.getClientRects().length).map((b) => b.textContent.trim()));
  check("the menu holds the views, the language and log out",
    ["Dispatch", "Safety crew", "Reports", "中", "Log out"].every((x) => menu.includes(x)), menu.join(", "));
  check("Reports can be pressed", await tappable("#header-menu nav button[data-view=reports]"));
  await noOverflow("the menu");
  await page.screenshot({ path: join(shots, "phone-menu.png") });
  await page.tap("#header-menu nav button[data-view=reports]");
  await until("the reports sheet", sheetUp, 5000);
  const reports = await until("the response times", async () => {
    const t = await page.textContent("#rt-table tbody");
    return t && t.trim() ? t : null;
  }, 10000);
  check("pressing Reports closes the menu and shows the reports in a sheet",
    !(await page.isVisible("#header-menu nav")) && (await page.isVisible("#reports-view")), reports.replace(/\s+/g, " ").slice(0, 80));
  await noOverflow("the reports");
  await page.tap("#sheet-close");
  await until("the sheet to go", sheetDown, 5000);
  check("the sheet's ✕ dismisses it", true);

  // A drone tapped on the map: its panel as a sheet.
  const at = await page.evaluate(() => {
    const S = window.dispatchMap;
    const d = S.drones.get("hy-1");
    S.map.setView([d.lat, d.lon], 12, { animate: false });
    const p = S.map.latLngToContainerPoint([d.lat, d.lon]);
    const r = document.getElementById("map").getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  });
  await page.waitForTimeout(300);
  await page.touchscreen.tap(at.x, at.y);
  await until("the drone sheet", async () => (await sheetUp()) && page.isVisible("#selected dl"), 5000);
  const drone = await page.evaluate(() => ({ id: window.dispatchMap.selectedDrone, text: document.getElementById("selected").textContent }));
  check("tapping a drone opens its panel in a sheet", /^hy-/.test(drone.id ?? "") && /battery/.test(drone.text),
    `${drone.id}: ${drone.text.replace(/\s+/g, " ").slice(0, 100)}`);
  check("the drone's commands can be pressed", await tappable("#selected button[data-a=rtl]"));
  await noOverflow("a drone's sheet");
  await page.screenshot({ path: join(shots, "phone-drone.png") });
  // A swipe down on the sheet's bar dismisses it.
  const bar = await page.evaluate(() => {
    const r = document.getElementById("sheet-bar").getBoundingClientRect();
    return { x: r.left + 40, y: r.top + r.height / 2 };
  });
  await page.mouse.move(bar.x, bar.y);
  await page.mouse.down();
  await page.mouse.move(bar.x, bar.y + 120, { steps: 5 });
  await page.mouse.up();
  await until("the sheet to go", sheetDown, 5000);
  check("a swipe down on the sheet dismisses it", true);

  // The incident list from the button over the map, with its time in +08:00.
  await page.evaluate(() => window.dispatchMap.selectDrone(null));
  check("the incidents button is there to tap", await tappable("#sheet-tabs button[data-sheet=dispatch]"));
  await page.tap("#sheet-tabs button[data-sheet=dispatch]");
  await until("the incident sheet", async () => (await sheetUp()) && page.isVisible("#incidents li[data-incident='1']"), 5000);
  const reported = await page.textContent("#incidents li[data-incident='1'] [data-f=reported]");
  check("the incident list comes up with the report's time in +08:00", /^13:0\d:\d\d$/.test(reported), reported);
  await noOverflow("the incident list");
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(shots, "phone-incidents.png") });

  // The safety crew's table fits or scrolls inside the sheet.
  await page.tap("#sheet-close");
  await until("the sheet to go", sheetDown, 5000);
  await page.tap("#sheet-tabs button[data-sheet=crew]");
  await until("the drone table", async () => (await sheetUp()) &&
    page.evaluate(() => document.querySelectorAll("#drones tbody tr").length === 15), 5000);
  await noOverflow("the drone table");
  check("no script errors in the page", errors.length === 0, errors.join("; "));
} catch (e) {
  check("phone test", false, e.message);
} finally {
  await browser?.close();
  const code = await server.stop();
  check("the server stops on Ctrl-C", code === 0, `exit ${code}`);
}
process.exit(summary("the map on a phone"));
