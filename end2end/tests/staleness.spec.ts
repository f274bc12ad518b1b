import { expect, request as playwrightRequest, test } from "@playwright/test";
import { PORT } from "../env";
import { freshDataDir, OwnServer } from "./own-server";
import { StocksPage, freshSymbol, publish, sleep, STOCKS_TOPIC } from "./support";

/** "1 min 5 s" → 65. */
function seconds(text: string | null): number {
  const m = /(?:(\d+) min)?\s*(?:(\d+) s)?/.exec(text ?? "");
  return Number(m?.[1] ?? 0) * 60 + Number(m?.[2] ?? 0);
}

test("with the server gone every view says how stale it is, retries back off, the badge reaches offline, and a restart brings it back with nothing lost", async ({
  page,
}) => {
  test.setTimeout(90_000);
  const server = new OwnServer(PORT + 2, freshDataDir("stale"));
  await server.start();
  const api = await playwrightRequest.newContext({ baseURL: server.url });
  try {
    const symbol = freshSymbol();
    await publish(api, STOCKS_TOPIC, { symbol, price: 1.0 });
    const attempts: number[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/events")) attempts.push(Date.now());
    });

    const stocks = new StocksPage(page);
    await page.goto(`${server.url}/stocks`);
    await stocks.waitLive();
    const banner = page.getByTestId("stale");
    const frame = page.locator(".frame");
    await expect(banner).toHaveCount(0);
    await expect(frame).not.toHaveAttribute("data-stale", /.*/);

    const stoppedAt = Date.now();
    await server.stop();
    // Within a few seconds: a banner that cannot be missed, dimmed values, then `offline`.
    await expect(banner).toBeVisible({ timeout: 3_000 });
    await expect(frame).toHaveAttribute("data-stale", "");
    await expect
      .poll(() => stocks.price(symbol).evaluate((el) => Number(getComputedStyle(el).opacity)))
      .toBeLessThan(0.8);
    await expect(stocks.badge).toHaveAttribute("data-state", "offline", { timeout: 10_000 });
    await expect(banner).toContainText("Offline.");
    // The age counts up while it is read.
    const before = seconds(await page.getByTestId("stale-age").textContent());
    await sleep(2_200);
    expect(seconds(await page.getByTestId("stale-age").textContent())).toBeGreaterThan(before);

    // Every view says so (client-side navigation: the same store, the same outage).
    for (const name of ["Scores", "Feed", "Monitor", "Jobs", "Stocks"]) {
      await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name, exact: true }).click();
      await expect(banner, `${name} while the server is down`).toBeVisible();
      await expect(frame).toHaveAttribute("data-stale", "");
    }

    // Reconnect attempts back off: the browser's own loop would retry about twice a second
    // (~30 attempts in 15 s); with backoff and jitter (0.25–0.5 s, then doubling) it is 4–6.
    await sleep(Math.max(0, stoppedAt + 15_000 - Date.now()));
    const during = attempts.filter((t) => t > stoppedAt);
    expect(during.length, `attempts at ${during.map((t) => t - stoppedAt).join(", ")} ms`).toBeGreaterThanOrEqual(3);
    expect(during.length, `attempts at ${during.map((t) => t - stoppedAt).join(", ")} ms`).toBeLessThanOrEqual(8);
    const gaps = during.slice(1).map((t, i) => t - during[i]);
    expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0] * 1.5);

    // Back: published while the page is still backing off; "Retry now" reconnects at once.
    await server.start();
    for (let i = 1; i <= 3; i++) {
      await publish(api, STOCKS_TOPIC, { symbol, price: 1.0 + i });
    }
    await page.getByRole("button", { name: "Retry now" }).click();
    await stocks.waitLive(10_000);
    await expect(banner).toHaveCount(0);
    await expect(frame).not.toHaveAttribute("data-stale", /.*/);
    await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "4", { timeout: 10_000 });
    await expect(stocks.price(symbol)).toHaveText("4.00");
  } finally {
    await api.dispose();
    await server.stop();
  }
});

test("with JavaScript off the badge says the page is not live", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/stocks");
  const badge = page.getByTestId("connection");
  await expect(badge).toHaveAttribute("data-state", "static");
  await expect(badge).toContainText("Not live");
  await context.close();
});
