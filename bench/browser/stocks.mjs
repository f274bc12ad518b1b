// Browser benchmark (issue 11), run by `cargo make bench` (scenario `browser`); not a test:
// it lives outside end2end/tests, so `npx playwright test` (CI) never picks it up.
//
//   node bench/browser/stocks.mjs --base http://127.0.0.1:3400 --token T --pid SERVER_PID
//     [--chromium /usr/bin/chromium] [--symbols 20] [--slow-rate 50] [--slow-ticks 1000]
//     [--fast-rate 1000] [--fast-ticks 10000] [--seconds 180] [--clk-tck 100]
//     [--publisher-cpu 0] [--ambient-rate 6] [--ambient-seconds 10]
//
// Against a release Pulse with its simulators off (PULSE_STOCKS_RATE=0), so every tick on the
// page is one this script published. /stocks opens in Debian's Chromium (Playwright drives it,
// launched as end2end/playwright.config.ts does); this script publishes `stocks` ticks over
// `--symbols` symbols through the HTTP API with the bearer token, at a fixed rate.
//
// Every tick has a price no other tick has (tick i: (10001 + i) / 100), so the text a price
// cell shows names the tick. In the page, a MutationObserver on the table body records
// `performance.timeOrigin + performance.now()` whenever a price cell's text changes; the
// publisher stamps each tick with the same wall clock (`performance.timeOrigin +
// performance.now()` in Node: Date.now()'s clock with sub-millisecond resolution, one machine).
// The publisher runs in a child process of its own (this script again, `--role publisher`),
// pinned with taskset to `--publisher-cpu` (the bench puts it on core 0 beside the server):
// the tab under test keeps core 1 to itself instead of sharing it with 1,000 requests a
// second. Empty `--publisher-cpu`: publish from this process.
// Two phases:
//   slow (50/s)   publish→DOM p50/p99 per tick: every tick should reach the screen;
//   fast (1000/s) the lag of the last tick on screen after the last publish, and the tab's
//                 main-thread busy share: CDP Performance.getMetrics TaskDuration delta / wall
//                 time over the phase (ticks may be coalesced at this rate: counted, not lost).
// Before them, 2 s with nothing published give the idle busy share (rendering that goes on
// anyway), so the phases' shares can be read against it; then `--ambient-seconds` at
// `--ambient-rate` (6/s: the stocks simulator's default rate) give the share of a tab someone
// simply leaves open on /stocks (the bar: ≤ 5 % of a core).
// Prints one JSON line (stdout) for bench/report.py and a summary (stderr). Every wait ends
// by --seconds at the latest.
import { spawn } from "node:child_process";
import http from "node:http";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// Launched as the end2end tests launch it.
const CHROMIUM = JSON.parse(fs.readFileSync(path.join(ROOT, "end2end/chromium.json"), "utf8"));
// Playwright comes from end2end/node_modules (scripts/setup.sh installs it there).
const require = createRequire(path.join(ROOT, "end2end", "package.json"));
const { chromium } = require("@playwright/test");

const args = {
  base: "",
  token: "",
  pid: 0,
  chromium: process.env.CHROMIUM_PATH ?? CHROMIUM.executablePath,
  symbols: 20,
  "slow-rate": 50,
  "slow-ticks": 1000,
  "fast-rate": 1000,
  "fast-ticks": 10000,
  seconds: 180,
  "clk-tck": 100,
  "publisher-cpu": "",
  "ambient-rate": 6,
  "ambient-seconds": 10,
  role: "browser",
  deadline: 0,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in args) || i + 1 >= process.argv.length) fail(`bad argument ${process.argv[i]}`);
  args[k] = typeof args[k] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
const base = new URL(args.base);
// Loopback only, like the load tool.
if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(base.hostname)) {
  fail(`refusing a non-loopback address: ${args.base}`);
}
const deadline = args.deadline || Date.now() + args.seconds * 1000;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const symbol = (s) => `BX${String(s).padStart(2, "0")}`;
const priceOf = (seq) => (10001 + seq) / 100;
const seqOf = (text) => Math.round(Number(text) * 100) - 10001;

function fail(msg) {
  console.error(`stocks.mjs: ${msg}`);
  console.log(JSON.stringify({ scenario: "browser", label: "pulse", error: msg }));
  process.exit(1);
}

/** utime + stime of the server in seconds (from /proc), or null. */
function serverCpu() {
  try {
    const stat = fs.readFileSync(`/proc/${args.pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / args["clk-tck"];
  } catch {
    return null;
  }
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length * p))) - 1];
}

const url = (p) => new URL(p, base).toString();
// node:http with a keep-alive agent rather than fetch: on a core shared with the server, fetch
// managed ~750-1,200 publishes/s in a trial and http.request ~2,500/s, and the fast phase needs
// 1,000/s with room to spare.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function publishOne(seq, sym) {
  const body = JSON.stringify({ symbol: sym, price: priceOf(seq) });
  return new Promise((resolve, reject) => {
    const sent = now();
    const req = http.request(
      {
        host: base.hostname.replace(/^\[|\]$/g, ""),
        port: base.port,
        path: "/api/topics/stocks/events",
        method: "POST",
        agent,
        timeout: 10_000,
        headers: {
          Authorization: `Bearer ${args.token}`,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume(); // drain, so the connection is reused
        res.on("end", () => resolve({ sent, ok: res.statusCode === 202, status: res.statusCode }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Publishes ticks first..first+count-1 at `rate`/s on a fixed schedule (tick i at i/rate s;
 * a late tick goes out at once, several may be in flight), tick i to symbol i mod symbols.
 * Returns send times by sequence number, the accepted count and the first error.
 */
async function publishPhase(first, count, rate) {
  const sent = new Map();
  let accepted = 0;
  let firstError = null;
  const inflight = new Set();
  const t0 = now();
  for (let i = 0; i < count; i++) {
    if (Date.now() >= deadline) {
      firstError ??= `deadline after ${i} of ${count} ticks`;
      break;
    }
    const wait = t0 + (i * 1000) / rate - now();
    if (wait > 1) await sleep(wait);
    while (inflight.size >= 256) await Promise.race(inflight); // bound what is in flight
    const seq = first + i;
    const p = publishOne(seq, symbol(seq % args.symbols))
      .then((r) => {
        sent.set(seq, r.sent);
        if (r.ok) accepted++;
        else firstError ??= `publish answered ${r.status}`;
      })
      .catch((e) => {
        firstError ??= `publish: ${e.message}`;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { sent, accepted, firstError, seconds: (now() - t0) / 1000 };
}

/** The observer's records so far ([symbol, text, time]), emptied in the page. */
const drain = (page) =>
  page.evaluate(() => {
    const out = window.__bench;
    window.__bench = [];
    return out;
  });

async function busy(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return {
    task: m.TaskDuration ?? null,
    script: m.ScriptDuration ?? null,
    layout: m.LayoutDuration ?? null,
    style: m.RecalcStyleDuration ?? null,
    wall: now(),
  };
}
/** Share of the wall time between two readings spent in `what` (TaskDuration: all of it). */
const share = (a, b, what = "task") =>
  a[what] == null || b[what] == null ? null : (b[what] - a[what]) / ((b.wall - a.wall) / 1000);

/** Waits (polling the page) until `done(records)` holds, nothing new for `quietMs`, or the deadline. */
async function collect(page, done, quietMs) {
  const records = [];
  let last = Date.now();
  for (;;) {
    const more = await drain(page);
    if (more.length) {
      records.push(...more);
      last = Date.now();
    }
    if (done(records) || Date.now() - last > quietMs || Date.now() >= deadline) return records;
    await sleep(50);
  }
}

// The publisher child: runs the phases it is sent over IPC, answers with their results.
if (args.role === "publisher") {
  process.on("message", async ({ first, count, rate }) => {
    const r = await publishPhase(first, count, rate);
    process.send({ ...r, sent: [...r.sent] });
  });
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

/** Publishing in the pinned child when --publisher-cpu is set, else in this process. */
function publisher() {
  if (args["publisher-cpu"] === "") return { phase: publishPhase, close() {} };
  const child = spawn(
    "taskset",
    ["-c", String(args["publisher-cpu"]), process.execPath, fileURLToPath(import.meta.url),
      "--base", args.base, "--token", args.token, "--symbols", String(args.symbols),
      "--role", "publisher", "--deadline", String(deadline)],
    { stdio: ["ignore", 2, 2, "ipc"] }  // its stdout is not the result line,
  );
  let waiting = null;
  child.on("message", (m) => {
    waiting?.resolve({ ...m, sent: new Map(m.sent) });
    waiting = null;
  });
  child.on("exit", (code) => {
    waiting?.reject(new Error(`publisher exited (${code})`));
    waiting = null;
  });
  return {
    phase: (first, count, rate) =>
      new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        child.send({ first, count, rate });
      }),
    close: () => child.connected && child.disconnect(),
  };
}

async function main() {
  const pub = publisher();
  const out = { scenario: "browser", label: "pulse", symbols: args.symbols };
  const browser = await chromium.launch({ executablePath: args.chromium, args: CHROMIUM.args });
  try {
    out.chromium = browser.version();
    // One row per symbol before the page loads, so the server renders them all.
    for (let s = 0; s < args.symbols; s++) {
      const r = await publishOne(-1 - s, symbol(s)); // prices below every tick's
      if (!r.ok) throw new Error(`seeding ${symbol(s)}: publish answered ${r.status}`);
    }
    // BENCH_BROWSER_REDUCED_MOTION=1: the tab asks for reduced motion (no row flash), to
    // tell the flash's share of the busy time from the rest.
    const page = await browser.newPage(
      process.env.BENCH_BROWSER_REDUCED_MOTION === "1" ? { reducedMotion: "reduce" } : {},
    );
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(url("/stocks"), { timeout: 30_000 });
    await page
      .locator('[data-testid="connection"][data-state="live"]')
      .waitFor({ state: "attached", timeout: 30_000 });
    const rows = await page.locator('[data-testid="stock-row"]').count();
    if (rows < args.symbols) throw new Error(`${rows} rows on /stocks, expected ${args.symbols}`);
    await page.evaluate(() => {
      window.__bench = [];
      const body = document.querySelector("table.ticker tbody");
      new MutationObserver((mutations) => {
        const t = performance.timeOrigin + performance.now();
        const cells = new Set();
        for (const m of mutations) {
          const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
          const cell = el?.closest('[data-testid="price"]');
          if (cell) cells.add(cell);
        }
        for (const cell of cells) {
          window.__bench.push([cell.closest("tr")?.dataset.symbol ?? "", cell.textContent.trim(), t]);
        }
      }).observe(body, { subtree: true, childList: true, characterData: true });
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");

    // Idle: the busy share with nothing published, the floor the phases below add to.
    let b0 = await busy(cdp);
    await sleep(Math.min(2000, Math.max(0, deadline - Date.now())));
    out.idle_busy_share = share(b0, await busy(cdp));

    // Ambient: a tab left open at the simulator's default rate (seqs far above the phases').
    const ambientN = Math.round(args["ambient-rate"] * args["ambient-seconds"]);
    if (ambientN > 0) {
      b0 = await busy(cdp);
      const ambient = await pub.phase(1_000_000, ambientN, args["ambient-rate"]);
      Object.assign(out, {
        ambient_rate: args["ambient-rate"],
        ambient_accepted: ambient.accepted,
        ambient_busy_share: share(b0, await busy(cdp)),
      });
      await drain(page);
    }

    // Slow: every tick to the screen, publish→DOM per tick.
    const slowN = args["slow-ticks"];
    let cpu0 = serverCpu();
    b0 = await busy(cdp);
    const slow = await pub.phase(0, slowN, args["slow-rate"]);
    const slowSeen = new Map(); // seq -> first DOM time
    const slowRecords = await collect(
      page,
      (recs) => {
        for (const [, text, t] of recs) {
          const seq = seqOf(text);
          if (seq >= 0 && seq < slowN && !slowSeen.has(seq)) slowSeen.set(seq, t);
        }
        return slowSeen.size >= slow.accepted;
      },
      3000,
    );
    let b1 = await busy(cdp);
    const lat = [];
    for (const [seq, t] of slowSeen) {
      const s = slow.sent.get(seq);
      if (s != null) lat.push(t - s);
    }
    lat.sort((a, b) => a - b);
    Object.assign(out, {
      slow_rate: args["slow-rate"],
      slow_ticks: slowN,
      slow_accepted: slow.accepted,
      slow_seen: slowSeen.size,
      slow_records: slowRecords.length,
      slow_p50_ms: pct(lat, 0.5),
      slow_p99_ms: pct(lat, 0.99),
      slow_max_ms: pct(lat, 1),
      slow_busy_share: share(b0, b1),
      slow_script_share: share(b0, b1, "script"),
      slow_layout_share: share(b0, b1, "layout"),
      slow_server_cpu_s: cpu0 == null ? null : serverCpu() - cpu0,
    });
    if (slow.firstError) out.first_publish_error = `slow: ${slow.firstError}`;

    // Fast: how far behind the screen falls, and how busy the tab's main thread is.
    const fastN = args["fast-ticks"];
    const first = slowN;
    const lastSeq = first + fastN - 1;
    // The final tick of each symbol: the page has caught up when every one of them is shown.
    const finals = new Map();
    for (let s = 0; s < args.symbols; s++) {
      const seq = lastSeq - ((lastSeq - s) % args.symbols + args.symbols) % args.symbols;
      if (seq >= first) finals.set(symbol(s), seq);
    }
    cpu0 = serverCpu();
    b0 = await busy(cdp);
    const fast = await pub.phase(first, fastN, args["fast-rate"]);
    const shownFinal = new Map(); // symbol -> DOM time its final tick appeared
    const fastSeen = new Map();
    await collect(
      page,
      (recs) => {
        for (const [sym, text, t] of recs) {
          const seq = seqOf(text);
          if (seq < first || seq > lastSeq) continue;
          if (!fastSeen.has(seq)) fastSeen.set(seq, t);
          if (finals.get(sym) === seq && !shownFinal.has(sym)) shownFinal.set(sym, t);
        }
        return shownFinal.size >= finals.size;
      },
      3000,
    );
    const settled = shownFinal.size >= finals.size;
    const settleAt = settled ? Math.max(...shownFinal.values()) : now();
    b1 = await busy(cdp);
    // Busy share over the phase: publishing start until the screen had caught up (read within
    // one 50 ms poll of that).
    const fastShare = share(b0, b1);
    const lastSent = fast.sent.get(lastSeq) ?? Math.max(...fast.sent.values());
    const fastLat = [];
    for (const [seq, t] of fastSeen) {
      const s = fast.sent.get(seq);
      if (s != null) fastLat.push(t - s);
    }
    fastLat.sort((a, b) => a - b);
    Object.assign(out, {
      fast_rate: args["fast-rate"],
      fast_ticks: fastN,
      fast_accepted: fast.accepted,
      fast_publish_s: fast.seconds,
      fast_achieved_rate: fast.seconds > 0 ? fast.accepted / fast.seconds : null,
      fast_seen: fastSeen.size,
      fast_settled: settled,
      fast_last_lag_ms: shownFinal.has(symbol(lastSeq % args.symbols))
        ? shownFinal.get(symbol(lastSeq % args.symbols)) - lastSent
        : null,
      fast_settle_ms: settled ? settleAt - lastSent : null,
      fast_p50_ms: pct(fastLat, 0.5),
      fast_p99_ms: pct(fastLat, 0.99),
      fast_busy_share: fastShare,
      // Where that went (Chromium's own counters, inside TaskDuration): script (our wasm and
      // JS, the event dispatch), layout, style; the rest is mostly painting and compositing.
      fast_script_share: share(b0, b1, "script"),
      fast_layout_share: share(b0, b1, "layout"),
      fast_style_share: share(b0, b1, "style"),
      fast_server_cpu_s: cpu0 == null ? null : serverCpu() - cpu0,
    });
    if (fast.firstError) out.first_publish_error ??= `fast: ${fast.firstError}`;
    if (!settled) out.warning = `fast: ${shownFinal.size} of ${finals.size} symbols showed their last tick before the wait ended`;
    else if (slowSeen.size < slow.accepted) out.warning = `slow: ${slowSeen.size} of ${slow.accepted} ticks seen on screen`;
    if (pageErrors.length) out.page_error = pageErrors[0];
  } catch (e) {
    out.error = e.message.split("\n")[0];
  } finally {
    pub.close();
    await browser.close();
  }
  const f = (v, d = 1) => (v == null ? "–" : v.toFixed(d));
  console.error(
    `[pulse] browser: slow ${out.slow_seen ?? 0}/${out.slow_accepted ?? 0} ticks at ${args["slow-rate"]}/s: ` +
      `publish→DOM p50 ${f(out.slow_p50_ms)} ms p99 ${f(out.slow_p99_ms)} ms; fast ${out.fast_accepted ?? 0} ticks ` +
      `at ${f(out.fast_achieved_rate, 0)}/s (asked ${args["fast-rate"]}/s): last tick on screen ${f(out.fast_last_lag_ms)} ms ` +
      `after its publish, main thread busy ${f(out.fast_busy_share == null ? null : out.fast_busy_share * 100, 0)}% ` +
      `(script ${f(out.fast_script_share == null ? null : out.fast_script_share * 100, 0)}%, ` +
      `layout ${f(out.fast_layout_share == null ? null : out.fast_layout_share * 100, 0)}%, ` +
      `style ${f(out.fast_style_share == null ? null : out.fast_style_share * 100, 0)}%); ` +
      `a tab left open at ${args["ambient-rate"]}/s: busy ${f(out.ambient_busy_share == null ? null : out.ambient_busy_share * 100)}%` +
      (out.error ? `; error: ${out.error}` : ""),
  );
  out.publisher_cpu = args["publisher-cpu"] === "" ? null : String(args["publisher-cpu"]);
  console.log(JSON.stringify(out));
  process.exit(out.error ? 1 : 0);
}
