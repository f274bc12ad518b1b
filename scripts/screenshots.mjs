// Takes the README's screenshots from a running Pulse in Debian's Chromium.
//
//   LEPTOS_SITE_ADDR=127.0.0.1:3000 ./target/release/pulse --publish-token "$TOKEN" &
//   PULSE_URL=http://127.0.0.1:3000 PULSE_TOKEN="$TOKEN" node scripts/screenshots.mjs
//
// It publishes a few posts and a notification first (so the feed and a toast have something
// to show), waits for each page to go live, and writes docs/<view>-<light|dark>.png.
// With PULSE_PID=<the server's pid> it takes the stale shot last, by stopping that server.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../end2end/package.json"));
const { chromium } = require("playwright-core");

const base = process.env.PULSE_URL ?? "http://127.0.0.1:3000";
const token = process.env.PULSE_TOKEN;
const out = path.join(here, "../docs");

async function publish(topic, body) {
  const res = await fetch(`${base}/api/topics/${topic}/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`publish to ${topic}: ${res.status} ${await res.text()}`);
}

if (token) {
  const posts = [
    ["Priya", "Deploy of the pricing service is done; dashboards look calm."],
    ["Marco", "Courts 2 and 5 are going to overtime, keep an eye on /scores."],
    ["Ana", "Reminder: <b>tags</b> in posts show as text, not markup."],
    ["Sam", "Memory on the build box climbed to 80% during the release build, back to normal now."],
  ];
  for (const [author, text] of posts) await publish("feed", { author, text });
  await seedJobs();
}

async function api(path, body) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A few jobs at different stages for /jobs: done, running with an ETA, size unknown. */
async function seedJobs() {
  const done = await api("/api/jobs", { name: "Rebuild search index", total: 400 });
  await api(`/api/jobs/${done.id}/progress`, { step: 400, log: ["400 documents indexed"] });
  await api(`/api/jobs/${done.id}/progress`, { status: "completed", message: "400 documents indexed" });
  const open = await api("/api/jobs", { name: "Nightly export: orders", total: 1200 });
  const unknown = await api("/api/jobs", { name: "Import from partner feed" });
  for (let i = 1; i <= 6; i++) {
    await api(`/api/jobs/${open.id}/progress`, { step: i * 60, message: `table orders, rows to ${i * 60}`, log: [`batch ${i} written`] });
    await api(`/api/jobs/${unknown.id}/progress`, { step: i * 17, message: `${i * 17} records read` });
    await new Promise((r) => setTimeout(r, 600));
  }
}

const CHROMIUM = JSON.parse(readFileSync(new URL("../end2end/chromium.json", import.meta.url), "utf8"));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? CHROMIUM.executablePath,
  args: CHROMIUM.args,
});
// name, path, colour scheme, and optionally a phone-sized viewport
const shots = [
  ["stocks", "/stocks", "light"],
  ["stocks", "/stocks", "dark"],
  ["stocks-phone", "/stocks", "light", { width: 390, height: 844 }],
  ["scores-phone", "/scores", "dark", { width: 390, height: 844 }],
  ["home", "/", "light"],
  ["scores", "/scores", "light"],
  ["feed", "/feed", "light"],
  ["monitor", "/monitor", "dark"],
  ["monitor-phone", "/monitor?range=1h", "light", { width: 320, height: 900 }],
  ["jobs", "/jobs", "light"],
  // The stream cut off (the tab goes offline): banner, dimmed figures, hatched charts.
  ["monitor-stale", "/monitor", "light"],
];
// PULSE_SHOTS=monitor,monitor-phone retakes only those.
const only = process.env.PULSE_SHOTS?.split(",");
for (const [name, url, scheme, phone] of shots) {
  if (only && !only.includes(name)) continue;
  if (name === "monitor-stale" && !process.env.PULSE_PID) {
    console.log("skipping monitor-stale: set PULSE_PID to the server's pid (the shot stops it)");
    continue;
  }
  const page = await browser.newPage({ viewport: phone ?? { width: 1280, height: 860 }, colorScheme: scheme });
  await page.goto(base + url);
  await page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 15_000 });
  // Let a few events arrive so charts and flashes show real movement.
  await page.waitForTimeout(name.startsWith("monitor") ? 8_000 : 3_000);
  if (name === "monitor") {
    // The crosshair on the CPU chart, read on every chart.
    const box = await page.locator('[data-testid="chart-plot"]').first().boundingBox();
    if (box) await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
    await page.waitForTimeout(200);
  }
  if (name === "monitor-phone") {
    await page.evaluate(() => document.getElementById("charts-title")?.scrollIntoView());
    await page.waitForTimeout(200);
  }
  if (name === "monitor-stale") {
    // The server stops (this shot comes last): the client backs off and reaches "Offline"
    // after four failed attempts. Emulating an offline browser does not do it: Chromium
    // leaves an open stream alone.
    process.kill(Number(process.env.PULSE_PID), "SIGTERM");
    await page.waitForSelector('[data-testid="connection"][data-state="offline"]', { timeout: 30_000 });
    await page.waitForTimeout(6_000);
  }
  if (name === "home" && token) {
    await publish("notifications", { level: "success", title: "Deploy finished", body: "pricing-service v1.4 is live", source: "ci", link: "/monitor" });
    await page.waitForSelector('[data-testid="toast"]');
    await page.waitForTimeout(400);
  }
  const file = path.join(out, `${name}-${scheme}.png`);
  await page.screenshot({ path: file });
  console.log(`wrote ${file}`);
  await page.close();
}
await browser.close();
