import { expect, request as playwrightRequest, test } from "@playwright/test";
import { PORT } from "../env";
import { freshDataDir, OwnServer } from "./own-server";
import { StocksPage, freshSymbol, publish, STOCKS_TOPIC } from "./support";

test("a page open across a server restart comes back live with what it missed, without a reload", async ({
  page,
}) => {
  const server = new OwnServer(PORT + 1, freshDataDir("restart"));
  await server.start();
  const api = await playwrightRequest.newContext({ baseURL: server.url });
  try {
    const symbol = freshSymbol();
    await publish(api, STOCKS_TOPIC, { symbol, price: 1.0 });

    const stocks = new StocksPage(page);
    await page.goto(`${server.url}/stocks`);
    await stocks.waitLive();
    await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "1");
    // Survives only if the page is never reloaded.
    await page.evaluate(() => ((window as any).__sameDocument = true));

    await server.stop();
    await expect(stocks.badge).not.toHaveAttribute("data-state", "live", { timeout: 10_000 });

    await server.start();
    // Published on the new instance, possibly before the page has reconnected.
    for (let i = 1; i <= 4; i++) {
      await publish(api, STOCKS_TOPIC, { symbol, price: 1.0 + i });
    }
    await stocks.waitLive(20_000);
    await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "5", { timeout: 10_000 });
    await expect(stocks.price(symbol)).toHaveText("5.00");
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  } finally {
    await api.dispose();
    await server.stop();
  }
});

test("a page whose stream is answered with 503 recovers and catches up", async ({ page, request }) => {
  const stocks = new StocksPage(page);
  const symbol = freshSymbol();
  // The browser's EventSource gives up for good on a non-200; the app must take over.
  await page.route("**/api/events**", (route) =>
    route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"unavailable"}' }),
  );
  await stocks.goto();
  await expect(stocks.badge).toHaveAttribute("data-state", /reconnecting|offline/, { timeout: 10_000 });

  for (let i = 0; i < 3; i++) {
    await publish(request, STOCKS_TOPIC, { symbol, price: 2 + i });
  }
  await page.unroute("**/api/events**");
  await stocks.waitLive(20_000);
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "3", { timeout: 10_000 });
  await expect(stocks.price(symbol)).toHaveText("4.00");
});
