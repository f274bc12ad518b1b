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

test("change is against the session open, with arrows and words for screen readers", async ({ page, request }) => {
  const stocks = new StocksPage(page);
  const symbol = freshSymbol();
  const now = Date.now();
  await publish(request, STOCKS_TOPIC, { symbol, price: 50, at: now });
  await publish(request, STOCKS_TOPIC, { symbol, price: 55, at: now + 1 });
  await stocks.goto();
  await stocks.waitLive();
  const row = stocks.row(symbol);
  await expect(row.getByTestId("pct")).toHaveText(/▲\s*up\s*\+10\.00%/);
  await expect(row.getByTestId("pct").locator(".sr-only")).toHaveText("up");
  await expect(row.locator("svg.sparkline")).toHaveClass(/trend-up/);
  await expect(row.locator("svg.sparkline line.baseline")).toHaveCount(1);
  await publish(request, STOCKS_TOPIC, { symbol, price: 40, at: now + 2 });
  await expect(row.getByTestId("pct")).toHaveText(/▼\s*down\s*-20\.00%/);
  await expect(row.locator("svg.sparkline")).toHaveClass(/trend-down/);
});

test("the ticker sorts by % change, from the keyboard too", async ({ page, request }) => {
  const stocks = new StocksPage(page);
  // Spread out the % changes so the order is not a tie.
  const now = Date.now();
  for (const [i, pct] of [7, -3, 12].entries()) {
    const symbol = freshSymbol();
    await publish(request, STOCKS_TOPIC, { symbol, price: 100, at: now });
    await publish(request, STOCKS_TOPIC, { symbol, price: 100 + pct, at: now + i + 1 });
  }
  await stocks.goto();
  await stocks.waitLive();
  const header = page.locator("th", { has: page.getByRole("button", { name: "% Change" }) });
  await expect(header).toHaveAttribute("aria-sort", "none");
  await page.getByRole("button", { name: "% Change" }).focus();
  await page.keyboard.press("Enter");
  await expect(header).toHaveAttribute("aria-sort", "descending");
  const pcts = () => stocks.rows.evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-pct"))));
  const sorted = (desc: boolean) => async () => {
    const v = await pcts();
    return v.length > 3 && v.every((x, i) => i === 0 || (desc ? v[i - 1]! >= x : v[i - 1]! <= x));
  };
  // Prices keep moving; the table re-sorts with them.
  await expect.poll(sorted(true)).toBe(true);
  await page.waitForTimeout(1500);
  await expect.poll(sorted(true)).toBe(true);
  await page.keyboard.press("Space");
  await expect(header).toHaveAttribute("aria-sort", "ascending");
  await expect.poll(sorted(false)).toBe(true);
  const symbolHeader = page.locator("th", { has: page.getByRole("button", { name: "Symbol" }) });
  await page.getByRole("button", { name: "Symbol" }).click();
  await expect(symbolHeader).toHaveAttribute("aria-sort", "ascending");
  await expect(header).toHaveAttribute("aria-sort", "none");
  const symbols = await stocks.rows.evaluateAll((els) => els.map((el) => el.getAttribute("data-symbol")!));
  expect(symbols).toEqual([...symbols].sort());
});

test("a tick lights its row for a moment, with no animation left running", async ({ page }) => {
  const stocks = new StocksPage(page);
  await stocks.goto();
  await stocks.waitLive();
  // Over 3 s of the simulator's ticks: rows light up, each goes dark again within a second of
  // its latest tick (a row that keeps ticking may stay lit), and the ticker never has a
  // running animation (one would cost a main-thread frame every vsync).
  const seen = await page.evaluate(async () => {
    const lastTick = new Map<Element, { ticks: string | null; at: number }>();
    const lit = new Set<Element>();
    let lighted = 0;
    let longest = 0;
    let animations = 0;
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      for (const row of document.querySelectorAll(".ticker tbody tr")) {
        const ticks = row.getAttribute("data-ticks");
        if (lastTick.get(row)?.ticks !== ticks) lastTick.set(row, { ticks, at: Date.now() });
        const on = row.classList.contains("lit-up") || row.classList.contains("lit-down");
        if (on && !lit.has(row)) {
          lit.add(row);
          lighted++;
          const overlay = getComputedStyle(row, "::after");
          if (overlay.content === "none" || overlay.backgroundColor === "rgba(0, 0, 0, 0)") return { error: "lit row without an overlay" };
        } else if (!on && lit.has(row)) {
          longest = Math.max(longest, Date.now() - lastTick.get(row)!.at);
          lit.delete(row);
        }
      }
      animations += document.getAnimations().filter((a) => ((a.effect as KeyframeEffect).target as Element | null)?.closest(".ticker")).length;
      await new Promise((r) => setTimeout(r, 25));
    }
    const stillLit = [...lit].filter((row) => Date.now() - lastTick.get(row)!.at > 1000).length;
    return { lit: lighted, longest, animations, stillLit };
  });
  expect(seen).not.toHaveProperty("error");
  expect(seen.lit).toBeGreaterThan(0);
  expect(seen.longest).toBeGreaterThan(0);
  expect(seen.longest).toBeLessThan(1000);
  expect(seen.stillLit).toBe(0);
  expect(seen.animations).toBe(0);
});

test("reduced motion turns the flash off", async ({ page }) => {
  await page.emulateMedia({ reducedMotion: "reduce" });
  const stocks = new StocksPage(page);
  await stocks.goto();
  await stocks.waitLive();
  // Rows still get the class (the state is the same), but no overlay is drawn.
  const shown = await page.evaluate(async () => {
    let litRows = 0;
    let overlays = 0;
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      for (const row of document.querySelectorAll(".ticker tbody tr.lit-up, .ticker tbody tr.lit-down")) {
        litRows++;
        if (getComputedStyle(row, "::after").display !== "none") overlays++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { litRows, overlays };
  });
  expect(shown.litRows).toBeGreaterThan(0);
  expect(shown.overlays).toBe(0);
});

test("no sideways scrolling at 320 px", async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  const stocks = new StocksPage(page);
  await stocks.goto();
  await stocks.waitLive();
  const overflow = await page.evaluate(() => {
    const wrap = document.querySelector(".table-wrap")!;
    return {
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      table: wrap.scrollWidth - wrap.clientWidth,
    };
  });
  expect(overflow).toEqual({ page: 0, table: 0 });
  // The % column is still there.
  await expect(stocks.rows.first().getByTestId("pct")).toBeVisible();
});
