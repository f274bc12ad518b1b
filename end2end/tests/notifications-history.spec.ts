import { expect, test } from "@playwright/test";
import { freshTag, publish, waitLive } from "./support";

test("the notifications page lists the history newest first, filters by level and source, and survives a reload", async ({
  page,
  request,
}) => {
  const source = freshTag("src");
  await publish(request, "notifications", { title: `${source} first`, level: "info", source });
  await publish(request, "notifications", { title: `${source} second`, level: "warning", source });
  await publish(request, "notifications", { title: `${source} elsewhere`, level: "warning", source: "other-source" });

  await page.goto("/notifications");
  await waitLive(page);
  const titles = page.getByTestId("notice").locator(".notice-title");
  await expect(titles.first()).toContainText(`${source} elsewhere`);

  // Filter by source, then by level too (a GET form: the filter is in the address).
  await page.getByTestId("filter-source").selectOption(source);
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(new RegExp(`source=${source}`));
  await expect(titles).toHaveText([`warning ${source} second`, `info ${source} first`]);
  await page.getByTestId("filter-level").selectOption("warning");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(titles).toHaveText([`warning ${source} second`]);
  await expect(page.getByTestId("notifications-count")).toContainText("1 of");

  // A notice arriving live joins the filtered list when it matches.
  await publish(request, "notifications", { title: `${source} live`, level: "warning", source });
  await expect(titles.first()).toHaveText(`warning ${source} live`);

  // The filtered address is a link: a reload shows the same, from the server's history.
  await page.reload();
  await expect(titles).toHaveText([`warning ${source} live`, `warning ${source} second`]);
  await expect(page.getByTestId("filter-level")).toHaveValue("warning");

  await page.getByRole("link", { name: "Clear filters" }).click();
  await expect(page).toHaveURL(/\/notifications$/);
  await expect(page.getByTestId("notice").filter({ hasText: `${source} elsewhere` })).toHaveCount(1);
});
