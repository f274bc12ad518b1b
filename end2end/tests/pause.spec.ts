import { expect, test } from "@playwright/test";
import { StocksPage, freshSymbol, publish, STOCKS_TOPIC } from "./support";

test("pausing a view freezes it while the stream keeps running; resuming applies what arrived, in order", async ({
  page,
  request,
}) => {
  const stocks = new StocksPage(page);
  const symbol = freshSymbol();
  await publish(request, STOCKS_TOPIC, { symbol, price: 1.0 });
  await stocks.goto();
  await stocks.waitLive();
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "1");

  const toggle = page.getByTestId("pause");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("paused")).toBeVisible();

  const last = await publish(request, STOCKS_TOPIC, { symbol, price: 2.0 });
  await publish(request, STOCKS_TOPIC, { symbol, price: 3.0 });
  // The stream moved on (the badge's id passed both events) but the table did not.
  await expect
    .poll(async () => Number(await stocks.badge.getAttribute("data-last-event-id")))
    .toBeGreaterThan(last.id);
  await expect(stocks.price(symbol)).toHaveText("1.00");
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "1");
  await expect(toggle).toContainText(/Resume · \d+ new update/);
  // Still paused after a moment: nothing leaks through.
  await page.waitForTimeout(500);
  await expect(stocks.price(symbol)).toHaveText("1.00");

  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-pressed", "false");
  await expect(page.getByTestId("paused")).toHaveCount(0);
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "3");
  await expect(stocks.price(symbol)).toHaveText("3.00");
  // And it is live again.
  await publish(request, STOCKS_TOPIC, { symbol, price: 4.0 });
  await expect(stocks.price(symbol)).toHaveText("4.00");
});
