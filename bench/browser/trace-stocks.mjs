// Where a /stocks tab's main thread goes while ticks arrive: a Chromium performance trace of
// `--seconds` at `--rate` ticks/s over `--symbols` symbols, summed by trace event name on the
// renderer's main thread (self time of the top-level tasks' children is not separated: each
// name's total is its inclusive time, so nested names overlap; read them as "how much of the
// wall time was spent inside X").
//
//   node bench/browser/trace-stocks.mjs --base http://127.0.0.1:3000 --token T [--rate 6]
//     [--seconds 10] [--symbols 20] [--reduced-motion 0|1]
//
// Pulse should run with its simulators off (PULSE_STOCKS_RATE=0 …) so every tick is ours.
// Loopback only. Prints one JSON object: busy share and the top event names in ms.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../../end2end/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const CHROMIUM = JSON.parse(readFileSync(new URL("../../end2end/chromium.json", import.meta.url), "utf8"));

const args = { base: "http://127.0.0.1:3000", token: "", rate: 6, seconds: 10, symbols: 20, "reduced-motion": 0 };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in args)) throw new Error(`bad argument ${process.argv[i]}`);
  args[k] = typeof args[k] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const base = new URL(args.base);
if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(base.hostname)) throw new Error("loopback only");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function tick(seq) {
  const res = await fetch(new URL("/api/topics/stocks/events", base), {
    method: "POST",
    headers: { Authorization: `Bearer ${args.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ symbol: `TR${String(seq % args.symbols).padStart(2, "0")}`, price: 100 + (seq % 50) / 10 }),
  });
  if (res.status !== 202) throw new Error(`publish: ${res.status}`);
}

for (let s = 0; s < args.symbols; s++) await tick(s);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? CHROMIUM.executablePath, args: CHROMIUM.args });
try {
  const page = await browser.newPage(args["reduced-motion"] ? { reducedMotion: "reduce" } : {});
  await page.goto(new URL("/stocks", base).toString());
  await page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 30_000 });
  await sleep(1000);
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on("Tracing.dataCollected", (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
  await cdp.send("Tracing.start", {
    traceConfig: { includedCategories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink", "cc", "toplevel"] },
  });
  const t0 = Date.now();
  const total = Math.round(args.rate * args.seconds);
  for (let i = 0; i < total; i++) {
    await tick(args.symbols + i);
    await sleep(Math.max(0, t0 + ((i + 1) * 1000) / args.rate - Date.now()));
  }
  const wallMs = Date.now() - t0;
  await cdp.send("Tracing.end");
  await done;

  if (process.env.TRACE_DUMP) require("node:fs").writeFileSync(process.env.TRACE_DUMP, JSON.stringify(events));
  // The renderer main thread: the thread named CrRendererMain in the page's process.
  const names = new Map();
  for (const e of events) {
    if (e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain") names.set(`${e.pid}:${e.tid}`, true);
  }
  const byName = new Map();
  let busy = 0;
  for (const e of events) {
    if (e.ph !== "X" || !names.has(`${e.pid}:${e.tid}`) || typeof e.dur !== "number") continue;
    byName.set(e.name, (byName.get(e.name) ?? 0) + e.dur / 1000);
    if (e.name === "RunTask" || e.name === "ThreadControllerImpl::RunTask") busy += e.dur / 1000;
  }
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)
    .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10, per_tick_ms: Math.round((ms / total) * 100) / 100 }));
  console.log(JSON.stringify({ rate: args.rate, ticks: total, wall_ms: wallMs, reduced_motion: !!args["reduced-motion"], busy_share: busy / wallMs, top }, null, 1));
} finally {
  await browser.close();
}
