import { expect, test } from "@playwright/test";
import { waitLive } from "./support";

const PERCENT = /^\d{1,3}\.\d%$/;

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("/monitor renders the host's figures", async ({ page, request }) => {
    // The sampler publishes within a second of start; wait for its first sample.
    await expect
      .poll(async () => (await (await request.get("/api/topics/monitor/snapshot")).json()).state.latest)
      .toBeTruthy();
    await page.goto("/monitor");
    await expect(page.getByTestId("cpu")).toHaveText(PERCENT);
    await expect(page.getByTestId("memory")).toHaveText(PERCENT);
    await expect(page.getByRole("img", { name: /^CPU:/ })).toBeVisible();
    await expect(page.getByTestId("hub-subscribers")).toHaveText(/^\d+$/);
  });
});

test("/monitor goes live: new samples arrive and the charts grow", async ({ page }) => {
  await page.goto("/monitor");
  await waitLive(page);
  const monitor = page.getByTestId("monitor");
  const first = Number(await monitor.getAttribute("data-samples"));
  await expect.poll(async () => Number(await monitor.getAttribute("data-samples")), { timeout: 10_000 }).toBeGreaterThan(first + 1);
  await expect(page.getByTestId("cpu")).toHaveText(PERCENT);
  await expect(page.getByTestId("memory")).toHaveText(PERCENT);
  // The page's own stream is one of the hub's subscribers.
  await expect.poll(async () => Number(await page.getByTestId("hub-subscribers").textContent())).toBeGreaterThanOrEqual(1);
  const path = await page.locator(".chart path.line").first().getAttribute("d");
  expect(path?.match(/[ML]/g)?.length ?? 0).toBeGreaterThan(1);
});
