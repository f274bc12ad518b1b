import { expect, test } from "@playwright/test";
import { STOCKS_TOPIC, StocksPage, freshSymbol, publish, sleep } from "./support";

const PRICE = /^\d+\.\d{2}$/;

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("renders rows without JavaScript", async ({ page }) => {
    const stocks = new StocksPage(page);
    await stocks.goto();

    // Server-rendered HTML alone must show the table.
    await expect(stocks.rows.first()).toBeVisible();
    const rows = await stocks.rows.all();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) {
      await expect(row.getByTestId("price")).toHaveText(PRICE);
    }
    await expect(stocks.badge).toHaveCount(1);
    // No script ran, so no stream can be open.
    await expect(stocks.badge).not.toHaveAttribute("data-state", "live");
  });
});

test("goes live after hydration and prices change", async ({ page }) => {
  const stocks = new StocksPage(page);
  await stocks.goto();
  await stocks.waitLive();

  // symbol -> price text, as shown right now
  const snapshot = () =>
    stocks.rows.evaluateAll((els) =>
      Object.fromEntries(
        els.map((el) => [
          el.getAttribute("data-symbol") ?? "",
          el.querySelector('[data-testid="price"]')?.textContent?.trim() ?? "",
        ]),
      ),
    );
  const before = await snapshot();
  expect(Object.keys(before).length).toBeGreaterThan(0);

  // The simulator ticks several times a second; some shown price must move.
  await expect
    .poll(
      async () => {
        const now = await snapshot();
        return Object.keys(before).some((s) => s in now && now[s] !== before[s]);
      },
      { timeout: 10_000 },
    )
    .toBe(true);
});

test("a row element survives updates", async ({ page, request }) => {
  const stocks = new StocksPage(page);
  const symbol = freshSymbol();
  await stocks.goto();
  await stocks.waitLive();

  await publish(request, STOCKS_TOPIC, { symbol, price: 10.0 });
  const row = stocks.row(symbol);
  await expect(stocks.price(symbol)).toHaveText("10.00");

  // Mark the DOM node; a keyed update must patch it in place, not replace it.
  await row.evaluate((el) => {
    (el as any).__tag = "kept";
  });
  await publish(request, STOCKS_TOPIC, { symbol, price: 11.5 });
  await expect(stocks.price(symbol)).toHaveText("11.50");
  await expect(row).toHaveAttribute("data-ticks", "2");
  expect(await row.evaluate((el) => (el as any).__tag)).toBe("kept");
});

test("events published while the page loads appear exactly once", async ({ page, request }) => {
  const stocks = new StocksPage(page);
  const symbol = freshSymbol();
  const count = 40;

  // Start loading without waiting, so the ticks below land before, during and
  // after server rendering and hydration. A lost tick leaves data-ticks below 40,
  // a tick delivered twice pushes it above.
  const navigation = stocks.page.goto("/stocks");
  navigation.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile

  let last = { id: 0 };
  for (let i = 0; i < count; i++) {
    last = await publish(request, STOCKS_TOPIC, { symbol, price: (100 + i) / 100 });
    await sleep(10 + Math.floor(Math.random() * 16));
  }
  await navigation;
  await stocks.waitLive();

  const row = stocks.row(symbol);
  await expect(row).toHaveAttribute("data-ticks", String(count), { timeout: 10_000 });
  await expect(stocks.price(symbol)).toHaveText("1.39");
  await expect
    .poll(async () => Number(await stocks.badge.getAttribute("data-last-event-id")))
    .toBeGreaterThanOrEqual(last.id);
});

test("connection badge shows last event id", async ({ page }) => {
  const stocks = new StocksPage(page);
  await stocks.goto();
  await stocks.waitLive();
  await expect(stocks.badge).toHaveAttribute("data-last-event-id", /^[1-9]\d*$/);
});
