import { expect, test } from "@playwright/test";
import { waitLive } from "./support";

test("the theme switch applies and is remembered per browser", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/stocks");
  await waitLive(page);
  const html = page.locator("html");
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await expect(html).not.toHaveAttribute("data-theme", /.+/);
  await page.getByTestId("theme").selectOption("dark");
  await expect(html).toHaveAttribute("data-theme", "dark");
  expect(await bg()).not.toBe(light);
  await page.reload();
  await waitLive(page);
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(page.getByTestId("theme")).toHaveValue("dark");
  // "System" follows the system again.
  await page.getByTestId("theme").selectOption("system");
  await expect(html).not.toHaveAttribute("data-theme", /.+/);
  expect(await bg()).toBe(light);
  await page.reload();
  await waitLive(page);
  await expect(page.getByTestId("theme")).toHaveValue("system");
});

test.describe("kiosk", () => {
  test("?kiosk hides the chrome and enlarges the type, from the server's HTML on", async ({ browser }) => {
    const nojs = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    await nojs.goto("/scores?kiosk");
    await expect(nojs.locator(".frame")).toHaveAttribute("data-kiosk", "");
    await expect(nojs.getByRole("navigation", { name: "Views" })).toBeHidden();
    await expect(nojs.getByTestId("scorekeeper")).toBeHidden();
    await nojs.context().close();
  });

  test("kiosk mode after hydration keeps the badge and drops the rest", async ({ page }) => {
    await page.goto("/stocks");
    const normal = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    await page.goto("/stocks?kiosk");
    await waitLive(page);
    await expect(page.getByRole("navigation", { name: "Views" })).toBeHidden();
    await expect(page.locator("footer")).toBeHidden();
    await expect(page.getByTestId("connection")).toBeVisible();
    const kiosk = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    expect(kiosk).toBeGreaterThan(normal);
    await page.goto("/stocks");
    await expect(page.getByRole("navigation", { name: "Views" })).toBeVisible();
  });
});
