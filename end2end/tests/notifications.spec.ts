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
