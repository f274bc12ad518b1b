import { expect, test } from "@playwright/test";
import { freshTag, publish, waitLive } from "./support";

for (const path of ["/", "/feed", "/monitor"]) {
  test(`a published notification appears as a toast on ${path} and can be dismissed`, async ({ page, request }) => {
    await page.goto(path);
    await waitLive(page);
    const title = `Deploy ${freshTag()}`;
    await publish(request, "notifications", { level: "warning", title, body: "<b>not bold</b>", source: "ci" });
    const toast = page.getByTestId("toast").filter({ hasText: title });
    await expect(toast).toBeVisible();
    await expect(toast).toContainText("<b>not bold</b>");
    await expect(toast.locator("b")).toHaveCount(0);
    // Announced politely to screen readers.
    await expect(page.locator('.toasts [aria-live="polite"]')).toHaveCount(1);
    await toast.getByRole("button", { name: "Dismiss notification" }).click();
    await expect(toast).toHaveCount(0);
  });
}

test("notifications with a bad link are refused with a reason", async ({ request }) => {
  const res = await request.post("/api/topics/notifications/events", {
    headers: { Authorization: `Bearer ${process.env.PULSE_E2E_TOKEN ?? "e2e-secret-token"}` },
    data: { title: "x", link: "javascript:alert(1)" },
  });
  expect(res.status()).toBe(400);
  expect((await res.json()).detail).toContain("link");
});

test("dismiss all clears the stack and gives focus back", async ({ page, request }) => {
  await page.goto("/feed");
  await waitLive(page);
  const tag = freshTag("all");
  for (let i = 1; i <= 3; i++) {
    await publish(request, "notifications", { level: "warning", title: `Alert ${i} ${tag}` });
  }
  const toasts = page.getByTestId("toast").filter({ hasText: tag });
  await expect(toasts).toHaveCount(3);
  const box = page.locator('textarea[name="text"]');
  await box.focus();
  // Into the stack from the keyboard, and out again by dismissing.
  await page.getByTestId("dismiss-all").focus();
  // (The simulators may add notices of their own meanwhile.)
  await expect(page.getByTestId("dismiss-all")).toHaveText(/^Dismiss all \d+$/);
  await page.keyboard.press("Enter");
  await expect(toasts).toHaveCount(0);
  await expect(box).toBeFocused();
});

test("dismissing one toast returns focus where it was", async ({ page, request }) => {
  await page.goto("/feed");
  await waitLive(page);
  const title = `Only ${freshTag()}`;
  await publish(request, "notifications", { level: "error", title });
  const toast = page.getByTestId("toast").filter({ hasText: title });
  const author = page.locator('input[name="author"]');
  await author.focus();
  await toast.getByRole("button", { name: "Dismiss notification" }).click();
  await expect(toast).toHaveCount(0);
  await expect(author).toBeFocused();
});

test("on a phone only the newest toast shows, behind a counter", async ({ page, request }) => {
  await page.setViewportSize({ width: 360, height: 700 });
  await page.goto("/");
  await waitLive(page);
  const tag = freshTag("phone");
  for (let i = 1; i <= 4; i++) {
    await publish(request, "notifications", { level: "warning", title: `Phone ${i} ${tag}` });
  }
  // The simulators may add notices too: count the whole stack, not just ours.
  const all = page.getByTestId("toast");
  await expect(all.filter({ hasText: `Phone 4 ${tag}` })).toHaveCount(1);
  const total = await all.count();
  expect(total).toBeGreaterThanOrEqual(2);
  await expect(all.filter({ visible: true })).toHaveCount(1);
  await expect(all.last()).toBeVisible();
  const more = page.getByTestId("toasts-more");
  await expect(more).toHaveText(/^\d+ more$/);
  await expect(more).toHaveAttribute("aria-expanded", "false");
  // Collapsed, the stack covers well under half the screen.
  const box = await page.locator(".toasts").boundingBox();
  expect(box!.height).toBeLessThan(700 * 0.4);
  await more.click();
  await expect(more).toHaveAttribute("aria-expanded", "true");
  expect(await all.filter({ visible: true }).count()).toBeGreaterThanOrEqual(2);
  await expect(all.filter({ visible: true })).toHaveCount(await all.count());
  await page.getByTestId("dismiss-all").click();
  await expect(all.filter({ hasText: tag })).toHaveCount(0);
});
