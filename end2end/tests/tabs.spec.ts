import { expect, test, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";
import { StocksPage, freshSymbol, publish, sleep, STOCKS_TOPIC, waitLive } from "./support";

// One stream per browser: the tabs of one browser context elect a leader (Web Locks) that
// holds the only EventSource and relays it to the others (BroadcastChannel).

const TABS = 10;

/** One gauge from /metrics (a single instance: the whole server). */
async function metric(request: APIRequestContext, name: string): Promise<number> {
  const text = await (await request.get("/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} missing from /metrics`);
  return Number(line.split(" ")[1]);
}

/**
 * A gauge once it has held still for 2 s (at most 15 s of waiting): a tab the previous spec
 * closed keeps its stream counted until the server's next writes to it fail, which the
 * simulators' ticks cause within a second or so.
 */
async function settledMetric(request: APIRequestContext, name: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  let value = await metric(request, name);
  let since = Date.now();
  while (Date.now() - since < 2_000 && Date.now() < deadline) {
    await sleep(250);
    const now = await metric(request, name);
    if (now !== value) {
      value = now;
      since = Date.now();
    }
  }
  return value;
}

/** How this tab gets its events: "leader", "follower" or "own" (set on <html data-stream>). */
async function role(page: Page): Promise<string | null> {
  return page.locator("html").getAttribute("data-stream");
}

async function openTab(context: BrowserContext, path = "/stocks"): Promise<Page> {
  const page = await context.newPage();
  await page.goto(path);
  return page;
}

test("ten tabs share one stream; closing the leader loses nothing; a late tab catches up; presence counts browsers", async ({
  browser,
  request,
}) => {
  test.setTimeout(90_000);
  // Streams and browsers other specs may have left open (their contexts live on).
  const baseStreams = await settledMetric(request, "pulse_subscribers");
  const baseBrowsers = await settledMetric(request, "pulse_presence_browsers");

  const context = await browser.newContext();
  const tabs: Page[] = [];
  // One after another, each loaded: with a stream per tab, the 7th would never load over
  // HTTP/1.1 (six connections per host).
  for (let i = 0; i < TABS; i++) tabs.push(await openTab(context));
  for (const tab of tabs) await waitLive(tab);

  // One stream for the ten tabs, and it stays one.
  await expect.poll(() => metric(request, "pulse_subscribers"), { timeout: 10_000 }).toBe(baseStreams + 1);
  await sleep(500);
  expect(await metric(request, "pulse_subscribers")).toBe(baseStreams + 1);
  const roles = await Promise.all(tabs.map(role));
  expect(roles.filter((r) => r === "leader")).toHaveLength(1);
  expect(roles.filter((r) => r === "follower")).toHaveLength(TABS - 1);
  console.log(`streams seen with ${TABS} tabs in one browser: ${await metric(request, "pulse_subscribers") - baseStreams}`);

  // Presence: one browser, however many tabs.
  for (const tab of tabs) {
    await expect(tab.getByTestId("presence")).toHaveAttribute("data-watching", String(baseBrowsers + 1));
  }
  await expect(tabs[0].getByTestId("presence")).toHaveText(`${baseBrowsers + 1} watching`);

  // Close the leader and publish at once, while no tab holds the stream.
  const leader = tabs[roles.indexOf("leader")];
  const rest = tabs.filter((t) => t !== leader);
  const symbol = freshSymbol();
  const opened = await metric(request, "pulse_subscriptions_total");
  const closedAt = Date.now();
  await leader.close();
  const EVENTS = 5;
  for (let i = 1; i <= EVENTS; i++) await publish(request, STOCKS_TOPIC, { symbol, price: i });

  // The hand-off: a new stream opens (the count of streams ever opened moves on).
  await expect
    .poll(() => metric(request, "pulse_subscriptions_total"), { timeout: 10_000, intervals: [20] })
    .toBeGreaterThan(opened);
  const handoffMs = Date.now() - closedAt;
  console.log(`hand-off: leader closed → new stream open in ${handoffMs} ms`);
  expect(handoffMs).toBeLessThan(3_000);
  await expect.poll(async () => (await Promise.all(rest.map(role))).filter((r) => r === "leader").length).toBe(1);

  // Every remaining tab applied each event exactly once: five ticks, the last price.
  for (const tab of rest) {
    const stocks = new StocksPage(tab);
    await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", String(EVENTS), { timeout: 10_000 });
    await expect(stocks.price(symbol)).toContainText(String(EVENTS));
    await expect(tab.getByTestId("connection")).toHaveAttribute("data-state", "live");
  }
  expect(await metric(request, "pulse_subscribers")).toBe(baseStreams + 1);

  // A tab opened later starts from its page's snapshot and follows the same stream.
  const late = await openTab(context);
  await waitLive(late);
  expect(await role(late)).toBe("follower");
  await expect(new StocksPage(late).row(symbol)).toHaveAttribute("data-ticks", String(EVENTS));
  await publish(request, STOCKS_TOPIC, { symbol, price: 99 });
  for (const tab of [...rest, late]) {
    await expect(new StocksPage(tab).row(symbol)).toHaveAttribute("data-ticks", String(EVENTS + 1));
  }
  expect(await metric(request, "pulse_subscribers")).toBe(baseStreams + 1);

  // A second browser: every tab of the first now sees two.
  const other = await browser.newContext();
  const otherTab = await openTab(other, "/");
  await waitLive(otherTab);
  for (const tab of [otherTab, late, ...rest]) {
    await expect(tab.getByTestId("presence")).toHaveAttribute("data-watching", String(baseBrowsers + 2));
  }
  await other.close();
  await expect(late.getByTestId("presence")).toHaveAttribute("data-watching", String(baseBrowsers + 1));
  await context.close();
});

test("a tab alone posts nothing to other tabs; a tab that says it is there gets every event, exactly", async ({
  browser,
  request,
}) => {
  test.setTimeout(60_000);
  const context = await browser.newContext();
  const lone = await openTab(context);
  await waitLive(lone);
  expect(await role(lone)).toBe("leader");

  // Overhears the tabs' channel from a page of the same origin that is not a Pulse page (so
  // it never says Hello itself): which messages the leader posts.
  const ear = await context.newPage();
  await ear.goto("/healthz");
  await ear.evaluate(() => {
    const heard: string[] = [];
    (window as unknown as { heard: string[] }).heard = heard;
    new BroadcastChannel("pulse-live").onmessage = (e) => heard.push(JSON.parse(e.data).t);
  });
  const events = () => ear.evaluate(() => (window as unknown as { heard: string[] }).heard.filter((t) => t === "event").length);

  const symbol = freshSymbol();
  const ticks = (page: Page, n: number) =>
    expect(new StocksPage(page).row(symbol)).toHaveAttribute("data-ticks", String(n), { timeout: 10_000 });
  for (let i = 1; i <= 3; i++) await publish(request, STOCKS_TOPIC, { symbol, price: i });
  await ticks(lone, 3);
  await sleep(300);
  expect(await events(), "a leader with no other tab posts no events").toBe(0);

  // A second tab says Hello: from then on the leader posts, and it applies each event once.
  const second = await openTab(context);
  await waitLive(second);
  expect(await role(second)).toBe("follower");
  await ticks(second, 3);
  for (let i = 4; i <= 6; i++) await publish(request, STOCKS_TOPIC, { symbol, price: i });
  await ticks(lone, 6);
  await ticks(second, 6);
  await expect.poll(events).toBeGreaterThanOrEqual(3);

  // It keeps saying so: events published well after its first Hello still reach it.
  await sleep(5_000);
  for (let i = 7; i <= 8; i++) await publish(request, STOCKS_TOPIC, { symbol, price: i });
  await ticks(second, 8);
  await expect(new StocksPage(second).price(symbol)).toContainText("8");

  // Once it is gone and its last Hello is old, the leader stops posting again.
  await second.close();
  await sleep(4_500);
  const before = await events();
  for (let i = 9; i <= 10; i++) await publish(request, STOCKS_TOPIC, { symbol, price: i });
  await ticks(lone, 10);
  await sleep(300);
  expect(await events()).toBe(before);
  await context.close();
});
