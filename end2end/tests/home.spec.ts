import { expect, test } from "@playwright/test";
import { freshTag, publish, waitLive } from "./support";

const CARDS = ["home-stocks", "home-scores", "home-feed", "home-monitor", "home-notifications"];

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("/ renders an overview of every view with links", async ({ page }) => {
    await page.goto("/");
    for (const id of CARDS) {
      await expect(page.getByTestId(id)).toBeVisible();
    }
    for (const [name, path] of [["Stocks", "/stocks"], ["Scores", "/scores"], ["Feed", "/feed"], ["Monitor", "/monitor"]]) {
      await expect(page.getByRole("main").getByRole("link", { name, exact: true })).toHaveAttribute("href", path);
    }
  });
});

test("the overview is live: a new post shows in the feed card", async ({ page, request }) => {
  await page.goto("/");
  await waitLive(page);
  const text = `hello from ${freshTag()}`;
  await publish(request, "feed", { author: "overview", text });
  await expect(page.getByTestId("home-feed")).toContainText(text);
  await page.getByRole("main").getByRole("link", { name: "Feed", exact: true }).click();
  await expect(page).toHaveURL(/\/feed$/);
  await expect(page.getByTestId("post-text").getByText(text, { exact: true })).toBeVisible();
});
